package s3emu

import (
	"net/http"
	"strings"
)

// Kind is the class of an S3 request, as S3 bills them.
type Kind string

// The request kinds Counts tracks.
const (
	KindPut    Kind = "PUT"    // PutObject, CopyObject, UploadPart
	KindGet    Kind = "GET"    // GetObject
	KindList   Kind = "LIST"   // ListObjects(V2), ListObjectVersions, ListBuckets, other bucket GETs
	KindDelete Kind = "DELETE" // DeleteObject, DeleteObjects
	KindHead   Kind = "HEAD"   // HeadObject, HeadBucket
	KindOther  Kind = "OTHER"  // bucket creation and deletion, multipart POSTs, anything else
)

// Counts are request counts by kind.
type Counts struct {
	Put, Get, List, Delete, Head, Other int
}

// Total is the sum of all kinds.
func (c Counts) Total() int { return c.Put + c.Get + c.List + c.Delete + c.Head + c.Other }

func (c *Counts) add(k Kind) {
	switch k {
	case KindPut:
		c.Put++
	case KindGet:
		c.Get++
	case KindList:
		c.List++
	case KindDelete:
		c.Delete++
	case KindHead:
		c.Head++
	default:
		c.Other++
	}
}

// classify tells the kind of a path-style request.
func classify(r *http.Request) Kind {
	path := strings.TrimPrefix(r.URL.Path, "/")
	_, key, _ := strings.Cut(path, "/")
	hasKey := key != ""
	switch r.Method {
	case http.MethodHead:
		return KindHead
	case http.MethodGet:
		if hasKey {
			return KindGet
		}
		return KindList
	case http.MethodPut:
		if hasKey {
			return KindPut
		}
	case http.MethodDelete:
		if hasKey {
			return KindDelete
		}
	case http.MethodPost:
		if _, ok := r.URL.Query()["delete"]; ok {
			return KindDelete
		}
	}
	return KindOther
}
