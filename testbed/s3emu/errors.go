package s3emu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// s3Fault is an error every request is answered with, as S3 sends it.
type s3Fault struct {
	status int
	code   string
}

// message is the text S3 sends with the error codes the testbed injects.
func (f s3Fault) message() string {
	switch f.code {
	case "SlowDown":
		return "Please reduce your request rate."
	case "InternalError":
		return "We encountered an internal error. Please try again."
	case "ServiceUnavailable":
		return "Service is unable to handle request."
	}
	return "Injected by the S3 emulator."
}

// writeError answers r with S3's XML error document for f.
func writeError(w http.ResponseWriter, r *http.Request, id uint64, f s3Fault) {
	reqID := fmt.Sprintf("%016X", id)
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>` + xmlEscape(f.code) + `</Code><Message>` + xmlEscape(f.message()) + `</Message>` +
		`<Resource>` + xmlEscape(r.URL.Path) + `</Resource><RequestId>` + reqID + `</RequestId></Error>`
	w.Header().Set("x-amz-request-id", reqID)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// SetDown makes every request (while true) fail with 503 SlowDown, as S3
// does when it sheds load. It is SetError(503, "SlowDown") and
// SetError(0, "").
func (s *Server) SetDown(down bool) {
	if down {
		s.SetError(http.StatusServiceUnavailable, "SlowDown")
	} else {
		s.SetError(0, "")
	}
}

// SetError makes every request fail with HTTP status and S3 error code
// (for example 500 "InternalError" or 503 "SlowDown") until it is called
// with status 0. Refused requests are counted like any other.
func (s *Server) SetError(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = s3Fault{status: status, code: code}
}

// xmlEscape escapes s for XML character data.
func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
