package main

import (
	"sync/atomic"

	metrics "github.com/hashicorp/go-metrics"
)

// suspectCounter is a go-metrics sink that counts memberlist's suspect
// verdicts ("memberlist.msg.suspect": a member marked a peer suspect) and
// discards everything else. memberlist reports suspicion to no delegate,
// so this is how stock suspicions are counted.
type suspectCounter struct {
	metrics.BlackholeSink
	suspects atomic.Int64
}

// IncrCounter implements metrics.MetricSink.
func (s *suspectCounter) IncrCounter(key []string, val float32) {
	s.count(key, val)
}

// IncrCounterWithLabels implements metrics.MetricSink.
func (s *suspectCounter) IncrCounterWithLabels(key []string, val float32, _ []metrics.Label) {
	s.count(key, val)
}

func (s *suspectCounter) count(key []string, val float32) {
	if n := len(key); n >= 2 && key[n-1] == "suspect" && key[n-2] == "msg" {
		s.suspects.Add(int64(val))
	}
}

// installSuspectCounter routes go-metrics to a fresh counter and returns it
// with a function that restores the discarding sink. It is installed only
// around the fault windows, so CPU figures do not pay for it.
func installSuspectCounter() (*suspectCounter, func()) {
	sink := &suspectCounter{}
	_, _ = metrics.NewGlobal(&metrics.Config{FilterDefault: true}, sink)
	return sink, func() {
		// The zero Config filters everything out, as go-metrics' initial
		// global does.
		_, _ = metrics.NewGlobal(&metrics.Config{}, &metrics.BlackholeSink{})
	}
}
