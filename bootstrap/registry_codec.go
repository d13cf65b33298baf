package bootstrap

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// encode validates rec, fills in the version and cluster, signs it when a
// key is set, and returns its JSON.
func (r *Registry) encode(rec Record) ([]byte, error) {
	rec.Version = RecordVersion
	switch rec.Cluster {
	case "":
		rec.Cluster = r.cfg.Cluster
	case r.cfg.Cluster:
	default:
		return nil, fmt.Errorf("registry: record %q is for cluster %q but this registry serves cluster %q", rec.Name, rec.Cluster, r.cfg.Cluster)
	}
	if rec.Name == "" || strings.Contains(rec.Name, "/") {
		return nil, fmt.Errorf("registry: record name %q must be non-empty and contain no \"/\"", rec.Name)
	}
	if strings.Contains(rec.AZ, "/") || rec.AZ == noAZ {
		return nil, fmt.Errorf("registry: record %q: AZ %q must not be %q or contain \"/\"", rec.Name, rec.AZ, noAZ)
	}
	if err := checkRecordFields(rec); err != nil {
		return nil, fmt.Errorf("registry: record %q: %w", rec.Name, err)
	}
	rec.StartedAt = rec.StartedAt.UTC()
	rec.Signature = ""
	if len(r.cfg.SigningKey) > 0 {
		sig, err := signature(r.cfg.SigningKey, rec)
		if err != nil {
			return nil, err
		}
		rec.Signature = sig
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("registry: encoding record %q: %w", rec.Name, err)
	}
	if int64(len(body)) > r.cfg.MaxRecordSize {
		return nil, fmt.Errorf("registry: record %q is %d bytes, over the %d byte limit; use fewer or shorter tags", rec.Name, len(body), r.cfg.MaxRecordSize)
	}
	return body, nil
}

// decode parses the object body stored under a key naming the record
// fromKey. A non-empty reason says why the object is not a usable record.
func (r *Registry) decode(fromKey Record, body []byte) (rec Record, reason SkipReason, detail string) {
	if int64(len(body)) > r.cfg.MaxRecordSize {
		return rec, SkipOversize, fmt.Sprintf("larger than %d bytes", r.cfg.MaxRecordSize)
	}
	// The version is read first, so a future schema whose fields no longer
	// fit Record is reported as a version mismatch, not as garbage.
	var head struct {
		Version *int `json:"v"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return rec, SkipMalformed, "not a JSON object: " + err.Error()
	}
	if head.Version == nil {
		return rec, SkipMalformed, `no "v" version field`
	}
	if *head.Version != RecordVersion {
		return rec, SkipBadVersion, fmt.Sprintf("version %d, this agent reads version %d", *head.Version, RecordVersion)
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return rec, SkipMalformed, err.Error()
	}
	if rec.Cluster != r.cfg.Cluster {
		return rec, SkipForeignCluster, fmt.Sprintf("cluster %q, this agent is in %q", rec.Cluster, r.cfg.Cluster)
	}
	if rec.Name != fromKey.Name || rec.AZ != fromKey.AZ || rec.Addr != fromKey.Addr || rec.Port != fromKey.Port {
		return rec, SkipMalformed, fmt.Sprintf("record (name %q, AZ %q, %s) does not match its key", rec.Name, rec.AZ, rec.JoinAddr())
	}
	if err := checkRecordFields(rec); err != nil {
		return rec, SkipMalformed, err.Error()
	}
	if reason, detail := r.checkSignature(rec); reason != "" {
		return rec, reason, detail
	}
	return rec, "", ""
}

// checkRecordFields checks the address and port a joiner will dial.
func checkRecordFields(rec Record) error {
	if net.ParseIP(rec.Addr) == nil {
		return fmt.Errorf("addr %q is not an IP address", rec.Addr)
	}
	if rec.Port < 1 || rec.Port > 65535 {
		return fmt.Errorf("port %d is outside 1..65535", rec.Port)
	}
	return nil
}
