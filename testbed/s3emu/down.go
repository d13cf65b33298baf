package s3emu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// slowDown answers as S3 does when it sheds load.
func slowDown(w http.ResponseWriter, r *http.Request, id uint64) {
	reqID := fmt.Sprintf("%016X", id)
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>` +
		`<Resource>` + xmlEscape(r.URL.Path) + `</Resource><RequestId>` + reqID + `</RequestId></Error>`
	w.Header().Set("x-amz-request-id", reqID)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// SetDown makes every request (while true) fail with 503 SlowDown.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// xmlEscape escapes s for XML character data.
func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
