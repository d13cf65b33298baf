package testbed

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// BenchmarkFarmForms measures how long a 5-node farm of real agent
// processes takes from Start until every agent sees 5 alive. Run it with
// -bench FarmForms -benchtime 5x; it reports the median as s/form.
func BenchmarkFarmForms(b *testing.B) {
	bin := testutil.FarmhandBinary(b)
	var took []time.Duration
	for range b.N {
		dir := shortDir(b)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
		cfg := DefaultConfig()
		cfg.Dir, cfg.Bin = dir, bin
		tb, err := Start(ctx, cfg)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		ids := tb.Instances()
		socks := map[string]string{}
		for _, in := range tb.State().Instances {
			socks[in.ID] = in.Socket
		}
		err = testutil.Poll(formTimeout, 5*time.Millisecond, func(r *testutil.R) {
			if err := checkViews(context.Background(), socks, aliveExactly(ids...)); err != nil {
				r.Fatalf("%v", err)
			}
		})
		took = append(took, time.Since(start))
		b.StopTimer()
		tb.Close()
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s/form")
	b.Logf("formation times: %v", took)
}
