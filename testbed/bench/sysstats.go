package main

import (
	"math"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"
)

// schedLatency is the runtime/metrics histogram of how long goroutines
// waited runnable before running.
const schedLatency = "/sched/latencies:seconds"

// window measures process CPU time and Go scheduler latency over a span of
// wall time.
type window struct {
	k      dilation
	start  time.Time
	cpu    time.Duration
	counts []uint64
}

// windowStats is what a window measured.
type windowStats struct {
	Wall time.Duration
	// Span is Wall in protocol time: Wall / k under time dilation.
	Span time.Duration
	// CPU is user+system CPU of the whole process.
	CPU time.Duration
	// SchedP50 and SchedP99 are scheduler latency quantiles (bucket upper
	// bounds) over the window.
	SchedP50, SchedP99 time.Duration
}

// startWindow starts measuring a span of a run dilated by k.
func startWindow(k dilation) *window {
	h := readSched()
	return &window{k: k, start: time.Now(), cpu: processCPU(), counts: append([]uint64(nil), h.Counts...)}
}

// stop ends the window.
func (w *window) stop() windowStats {
	cpu := processCPU()
	h := readSched()
	delta := make([]uint64, len(h.Counts))
	for i := range delta {
		delta[i] = h.Counts[i] - w.counts[i]
	}
	wall := time.Since(w.start)
	return windowStats{
		Wall:     wall,
		Span:     w.k.proto(wall),
		CPU:      cpu - w.cpu,
		SchedP50: quantile(h.Buckets, delta, 0.50),
		SchedP99: quantile(h.Buckets, delta, 0.99),
	}
}

// processCPU returns the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readSched reads the scheduler latency histogram.
func readSched() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatency}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return &metrics.Float64Histogram{Counts: []uint64{0}, Buckets: []float64{0, math.Inf(1)}}
	}
	return s[0].Value.Float64Histogram()
}

// quantile returns the upper bound of the bucket holding quantile q of a
// histogram (the lower bound for the open top bucket).
func quantile(buckets []float64, counts []uint64, q float64) time.Duration {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	need := uint64(math.Ceil(q * float64(total)))
	var cum uint64
	for i, c := range counts {
		cum += c
		if cum >= need {
			hi := buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = buckets[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

// heapInUse returns the live heap after a GC, for per-node memory figures.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
