package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The running testbed takes chaos verbs on DIR/control.sock, HTTP/JSON like
// the agent's local API. Each verb is a POST /v1/<verb> with a Request body.

// Request is the body of a control call.
type Request struct {
	// IDs are the instances the verb acts on.
	IDs []string `json:"ids,omitempty"`
	// Other is the second side of a partition.
	Other []string `json:"other,omitempty"`
	// On is the switch for s3 (down) and ec2 throttle.
	On bool `json:"on,omitempty"`
	// Count is how many instances launch starts.
	Count int `json:"count,omitempty"`
	// Subnet is the subnet launch uses (empty: EC2 picks).
	Subnet string `json:"subnet,omitempty"`
	// IP is the private address launch asks for.
	IP string `json:"ip,omitempty"`
	// Spot makes launch start Spot Instances.
	Spot bool `json:"spot,omitempty"`
	// Action is the interruption's action (interrupt), or the Spot
	// Instances' interruption behaviour (launch).
	Action string `json:"action,omitempty"`
	// Notice is how long before its action a notice comes, e.g. "2m".
	Notice string `json:"notice,omitempty"`
	// ASG is the Auto Scaling group launch starts instances for.
	ASG string `json:"asg,omitempty"`
	// Percent is the packet loss of loss (0 ends it).
	Percent int `json:"percent,omitempty"`
}

// Response is the answer of a control call.
type Response struct {
	Error string   `json:"error,omitempty"`
	IDs   []string `json:"ids,omitempty"`
}

type controlServer struct {
	srv *http.Server
}

func (tb *Testbed) startControl() error {
	path := filepath.Join(tb.cfg.Dir, ControlSocket)
	os.Remove(path) // a testbed is already ruled out by the state check
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	verbs := map[string]func(ctx context.Context, r Request) ([]string, error){
		"crash":      tb.eachID(func(_ context.Context, id string) error { return tb.Crash(id) }),
		"kill-agent": tb.eachID(func(_ context.Context, id string) error { return tb.KillAgent(id) }),
		"stop":       tb.eachID(tb.Stop),
		"start":      tb.eachID(tb.Start),
		"reboot":     tb.eachID(tb.Reboot),
		"pause":      tb.eachID(func(_ context.Context, id string) error { return tb.Pause(id) }),
		"resume":     tb.eachID(func(_ context.Context, id string) error { return tb.Resume(id) }),
		"partition": func(ctx context.Context, r Request) ([]string, error) {
			return nil, tb.Partition(ctx, r.IDs, r.Other)
		},
		"heal": func(ctx context.Context, _ Request) ([]string, error) { return nil, tb.Heal(ctx) },
		"loss": func(ctx context.Context, r Request) ([]string, error) { return nil, tb.SetLoss(ctx, r.Percent) },
		"s3":   func(_ context.Context, r Request) ([]string, error) { return nil, tb.SetS3Down(r.On) },
		"ec2-throttle": func(_ context.Context, r Request) ([]string, error) {
			tb.SetEC2Throttle(r.On)
			return nil, nil
		},
		"launch": func(ctx context.Context, r Request) ([]string, error) {
			return tb.LaunchWith(ctx, LaunchOptions{Count: r.Count, Subnet: r.Subnet, PrivateIP: r.IP, Spot: r.Spot, Interruption: r.Action, ASG: r.ASG})
		},
		"interrupt": func(ctx context.Context, r Request) ([]string, error) {
			notice, err := noticeOf(r)
			if err != nil {
				return nil, err
			}
			return tb.eachID(func(_ context.Context, id string) error {
				_, err := tb.Interrupt(id, r.Action, notice)
				return err
			})(ctx, r)
		},
		"rebalance": tb.eachID(func(_ context.Context, id string) error { return tb.Rebalance(id) }),
		"asg-terminate": func(ctx context.Context, r Request) ([]string, error) {
			notice, err := noticeOf(r)
			if err != nil {
				return nil, err
			}
			return tb.eachID(func(_ context.Context, id string) error {
				_, err := tb.AutoScalingTerminate(id, notice)
				return err
			})(ctx, r)
		},
	}
	mux := http.NewServeMux()
	for name, f := range verbs {
		mux.HandleFunc("POST /v1/"+name, func(w http.ResponseWriter, req *http.Request) {
			var r Request
			if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&r); err != nil && !errors.Is(err, io.EOF) {
				writeJSON(w, http.StatusBadRequest, Response{Error: "bad request body: " + err.Error()})
				return
			}
			ids, err := f(req.Context(), r)
			if err != nil {
				writeJSON(w, http.StatusConflict, Response{Error: err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, Response{IDs: ids})
		})
	}
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, tb.State())
	})
	tb.control = &controlServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	tb.ctlCtx, tb.ctlStop = context.WithCancel(context.Background())
	tb.ctlDone = make(chan struct{})
	go func() {
		defer close(tb.ctlDone)
		go func() {
			<-tb.ctlCtx.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			tb.control.srv.Shutdown(ctx)
		}()
		if err := tb.control.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.logger.Error("control socket stopped", "error", err)
		}
	}()
	return nil
}

func (tb *Testbed) eachID(f func(ctx context.Context, id string) error) func(context.Context, Request) ([]string, error) {
	return func(ctx context.Context, r Request) ([]string, error) {
		if len(r.IDs) == 0 {
			return nil, errors.New("name at least one instance id")
		}
		for _, id := range r.IDs {
			if err := f(ctx, id); err != nil {
				return nil, err
			}
		}
		return r.IDs, nil
	}
}

// DefaultNotice is how long before its action a notice comes when the
// request does not say: EC2's two minutes for a Spot interruption (and,
// for an Auto Scaling termination, the lifecycle hook's timeout).
const DefaultNotice = 2 * time.Minute

// noticeOf reads the request's Notice (DefaultNotice when empty).
func noticeOf(r Request) (time.Duration, error) {
	if r.Notice == "" {
		return DefaultNotice, nil
	}
	d, err := time.ParseDuration(r.Notice)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("notice %q: want a duration such as 2m", r.Notice)
	}
	return d, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Control sends a verb to the testbed running in dir.
func Control(ctx context.Context, dir, verb string, r Request) (Response, error) {
	st, err := ReadState(dir)
	if err != nil {
		return Response{}, err
	}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", st.Control)
		},
	}}
	defer hc.CloseIdleConnections()
	body, _ := json.Marshal(r)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://testbed/v1/"+verb, strings.NewReader(string(body)))
	if err != nil {
		return Response{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("cannot reach the testbed at %s (is 'farmhand-testbed up' still running? if it was killed, run 'farmhand-testbed clean -dir %s'): %w", st.Control, dir, err)
	}
	defer resp.Body.Close()
	var out Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return Response{}, fmt.Errorf("testbed answered %s with a bad body: %w", resp.Status, err)
	}
	if out.Error != "" {
		return out, errors.New(out.Error)
	}
	return out, nil
}
