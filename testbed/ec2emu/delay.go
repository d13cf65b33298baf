package ec2emu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Delay is how long an instance stays pending before it boots (after
// RunInstances or StartInstances): Min, or, when Max is above Min, a time
// drawn uniformly between the two for each boot. Real instances take
// seconds to tens of seconds; the zero Delay boots at once.
type Delay struct {
	Min, Max time.Duration
}

// ParseDelay reads "0", "10s" (always 10 s) or "5s-15s" (uniform spread).
func ParseDelay(s string) (Delay, error) {
	lo, hi, spread := strings.Cut(strings.TrimSpace(s), "-")
	min, err := time.ParseDuration(lo)
	if err != nil {
		return Delay{}, fmt.Errorf("boot delay %q: want a duration (10s) or a range (5s-15s)", s)
	}
	d := Delay{Min: min, Max: min}
	if spread {
		if d.Max, err = time.ParseDuration(hi); err != nil {
			return Delay{}, fmt.Errorf("boot delay %q: want a duration (10s) or a range (5s-15s)", s)
		}
	}
	return d, d.validate(s)
}

func (d Delay) validate(s string) error {
	switch {
	case d.Min < 0:
		return fmt.Errorf("boot delay %q is negative", s)
	case d.Max != 0 && d.Max < d.Min:
		return fmt.Errorf("boot delay %q: the range ends before it starts", s)
	}
	return nil
}

// String is the form ParseDelay reads.
func (d Delay) String() string {
	if d.Max <= d.Min {
		return d.Min.String()
	}
	return d.Min.String() + "-" + d.Max.String()
}

// Set parses s into d, so that a Delay is a flag.Value.
func (d *Delay) Set(s string) error {
	v, err := ParseDelay(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// pick draws one boot's pending time.
func (d Delay) pick() time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + rand.N(d.Max-d.Min+1)
}
