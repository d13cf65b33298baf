package bootstrap

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// signature is the base64 HMAC-SHA256, under key, of the record's
// canonical JSON: encoding/json of the Record with Signature empty.
func signature(key []byte, rec Record) (string, error) {
	rec.Signature = ""
	canonical, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encoding record %q for signing: %w", rec.Name, err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(canonical)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// checkSignature returns the reason to skip rec under the configured keys,
// or "" to accept it.
func (r *Registry) checkSignature(rec Record) (SkipReason, string) {
	if len(r.cfg.SigningKey) == 0 {
		return "", ""
	}
	if rec.Signature == "" {
		if r.cfg.RequireSignature {
			return SkipUnsigned, "record has no signature and signatures are required"
		}
		return "", ""
	}
	got, err := base64.StdEncoding.DecodeString(rec.Signature)
	if err != nil {
		return SkipBadSignature, "signature is not base64"
	}
	for _, key := range append([][]byte{r.cfg.SigningKey}, r.cfg.VerifyKeys...) {
		want, err := signature(key, rec)
		if err != nil {
			return SkipMalformed, err.Error()
		}
		w, _ := base64.StdEncoding.DecodeString(want)
		if hmac.Equal(got, w) {
			return "", ""
		}
	}
	return SkipBadSignature, "signature does not match any configured key"
}
