package bootstrap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// set changes one meta-data value (empty: 404) while the server runs.
func (f *fakeIMDS) set(path, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if value == "" {
		delete(f.values, path)
		return
	}
	f.values[path] = value
}

func readNotices(t *testing.T, r *NoticeReader) (Notices, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Read(ctx)
}

func TestNoticeReaderReadsEC2Notices(t *testing.T) {
	f := newFakeIMDS(t, nil)
	r := NewNoticeReader(f.srv.URL, time.Second)
	defer r.Close()

	n, err := readNotices(t, r)
	if err != nil || n != (Notices{}) || n.Terminating() {
		t.Fatalf("no notice: %+v, %v", n, err)
	}

	f.set(RebalancePath, `{"noticeTime":"2026-03-01T11:58:07Z"}`)
	f.set(LifecycleStatePath, "InService")
	n, err = readNotices(t, r)
	if err != nil || n.RebalanceAt != time.Date(2026, 3, 1, 11, 58, 7, 0, time.UTC) || n.LifecycleState != "InService" || n.Terminating() {
		t.Fatalf("rebalance: %+v, %v", n, err)
	}

	f.set(SpotActionPath, `{"action": "stop", "time": "2026-03-01T12:02:00Z"}`)
	n, err = readNotices(t, r)
	if err != nil || n.SpotAction != "stop" || n.SpotTime != time.Date(2026, 3, 1, 12, 2, 0, 0, time.UTC) || !n.Terminating() {
		t.Fatalf("spot stop: %+v, %v", n, err)
	}

	f.set(SpotActionPath, "")
	f.set(LifecycleStatePath, "Terminated")
	if n, err = readNotices(t, r); err != nil || !n.Terminating() || n.SpotAction != "" {
		t.Fatalf("Auto Scaling Terminated: %+v, %v", n, err)
	}
	// One token for the whole session.
	f.mu.Lock()
	tokens := len(f.tokens)
	f.mu.Unlock()
	if tokens != 1 {
		t.Errorf("%d tokens for four reads, want the session's one", tokens)
	}
}

// Garbage on one path is an error naming that path; the other paths'
// notices are still returned.
func TestNoticeReaderGarbageLosesNothing(t *testing.T) {
	for body, want := range map[string]string{
		`<html>oops</html>`: "not EC2's",
		`{"action":"explode","time":"2026-03-01T12:02:00Z"}`: `action "explode"`,
		`{"action":"terminate","time":"soon"}`:               `time "soon"`,
	} {
		f := newFakeIMDS(t, func(f *fakeIMDS) {
			f.values[SpotActionPath] = body
			f.values[LifecycleStatePath] = "Terminated"
			f.values[RebalancePath] = `{"noticeTime":"2026-03-01T11:58:07Z"}`
		})
		r := NewNoticeReader(f.srv.URL, time.Second)
		n, err := readNotices(t, r)
		r.Close()
		var ne *NoticeError
		if !errors.As(err, &ne) || ne.Path != SpotActionPath || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v; want one line naming %s and %q", body, err, SpotActionPath, want)
		}
		if n.LifecycleState != "Terminated" || !n.Terminating() || n.RebalanceAt.IsZero() || n.SpotAction != "" {
			t.Errorf("%s: lost the other notices: %+v", body, n)
		}
	}
}

func TestNoticeReaderIMDSDown(t *testing.T) {
	f := newFakeIMDS(t, nil)
	url := f.srv.URL
	f.srv.Close()
	r := NewNoticeReader(url, time.Second)
	defer r.Close()
	start := time.Now()
	n, err := readNotices(t, r)
	if err == nil || n != (Notices{}) || !strings.Contains(err.Error(), url) {
		t.Fatalf("IMDS down: %+v, %v", n, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a refused IMDS took %s to report", took)
	}

	hung := newFakeIMDS(t, func(f *fakeIMDS) { f.hang = true })
	r = NewNoticeReader(hung.srv.URL, 300*time.Millisecond)
	defer r.Close()
	if _, err := readNotices(t, r); err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("hung IMDS: %v", err)
	}
}
