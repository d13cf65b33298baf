package agent

import (
	"strings"

	gometrics "github.com/hashicorp/go-metrics"
)

// conventionSink gives memberlist's go-metrics Prometheus's conventions
// before they reach the Prometheus sink: counters end in _total (byte
// counts in _bytes_total), timers are in seconds and end in _seconds
// (go-metrics measures milliseconds), byte sizes end in _bytes, and
// camelCase key parts become snake_case.
type conventionSink struct{ next gometrics.MetricSink }

var _ gometrics.MetricSink = conventionSink{}

// memberlistTimers are the keys memberlist measures with MeasureSince.
var memberlistTimers = map[string]bool{"probeNode": true, "gossip": true, "pushPullNode": true}

// snake turns each key part from camelCase to snake_case.
func snake(key []string) []string {
	out := make([]string, len(key))
	for i, part := range key {
		var b strings.Builder
		for j, r := range part {
			if r >= 'A' && r <= 'Z' {
				if j > 0 {
					b.WriteByte('_')
				}
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

func last(key []string) string {
	if len(key) == 0 {
		return ""
	}
	return key[len(key)-1]
}

func (s conventionSink) counterKey(key []string) []string {
	k := snake(key)
	if l := last(key); l == "sent" || l == "received" {
		k = append(k, "bytes")
	}
	return append(k, "total")
}

// sample converts a timer's milliseconds to seconds; sizes get _bytes.
func (s conventionSink) sample(key []string, val float32) ([]string, float32) {
	k := snake(key)
	switch {
	case memberlistTimers[last(key)]:
		return append(k, "seconds"), val / 1000
	case len(key) >= 2 && key[len(key)-2] == "size":
		return append(k, "bytes"), val
	}
	return k, val
}

func (s conventionSink) gaugeKey(key []string) []string {
	k := snake(key)
	if len(key) >= 2 && key[len(key)-2] == "size" {
		k = append(k, "bytes")
	}
	return k
}

func (s conventionSink) SetGauge(key []string, val float32) { s.next.SetGauge(s.gaugeKey(key), val) }
func (s conventionSink) SetGaugeWithLabels(key []string, val float32, labels []gometrics.Label) {
	s.next.SetGaugeWithLabels(s.gaugeKey(key), val, labels)
}
func (s conventionSink) EmitKey(key []string, val float32) { s.next.EmitKey(snake(key), val) }
func (s conventionSink) IncrCounter(key []string, val float32) {
	s.next.IncrCounter(s.counterKey(key), val)
}
func (s conventionSink) IncrCounterWithLabels(key []string, val float32, labels []gometrics.Label) {
	s.next.IncrCounterWithLabels(s.counterKey(key), val, labels)
}
func (s conventionSink) AddSample(key []string, val float32) {
	k, v := s.sample(key, val)
	s.next.AddSample(k, v)
}
func (s conventionSink) AddSampleWithLabels(key []string, val float32, labels []gometrics.Label) {
	k, v := s.sample(key, val)
	s.next.AddSampleWithLabels(k, v, labels)
}
