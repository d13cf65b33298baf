package s3emu

import "time"

// SetDelay makes every request wait d before it is answered (0 turns the
// delay off), as a slow or overloaded S3 endpoint does. The delay comes
// before an error set with SetError, so slow failures can be combined. A
// client that gives up during the delay gets no answer.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}
