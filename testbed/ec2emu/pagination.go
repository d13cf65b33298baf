package ec2emu

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// tokenPrefix marks the emulator's NextToken values.
const tokenPrefix = "ec2emu-after:"

// pageSize reads MaxResults, which EC2 allows between 5 and 1000 and not
// together with explicit instance ids. 0 means no paging.
func pageSize(p params, name string, ids []string) (int, *apiError) {
	n, ok, aerr := p.integer(name)
	switch {
	case aerr != nil:
		return 0, aerr
	case !ok:
		return 0, nil
	case len(ids) > 0:
		return 0, errInvalidParameterCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	case n < 5 || n > 1000:
		return 0, errInvalidParameterValue(name, strconv.Itoa(n))
	}
	return n, nil
}

// pageStart decodes NextToken into the sequence number to continue after.
func pageStart(token string) (uint64, *apiError) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), tokenPrefix); ok {
			if seq, err := strconv.ParseUint(rest, 10, 64); err == nil {
				return seq, nil
			}
		}
	}
	return 0, &apiError{http.StatusBadRequest, "InvalidPaginationToken",
		"The specified pagination token is not valid or is expired."}
}

// paginate returns the instances after start, at most size of them (all
// when size is 0), and the token for the rest ("" when none is left).
// ins must be sorted by seq.
func paginate(ins []*instance, start uint64, size int) ([]*instance, string) {
	i := sort.Search(len(ins), func(i int) bool { return ins[i].seq > start })
	ins = ins[i:]
	if size == 0 || len(ins) <= size {
		return ins, ""
	}
	page := ins[:size]
	last := page[len(page)-1].seq
	return page, base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatUint(last, 10)))
}

// selectLocked returns the instances named by ids (all when ids is empty)
// that pass the filters, sorted by creation. Named ids must all exist.
func (s *Server) selectLocked(ids []string, fs []compiledFilter) ([]*instance, *apiError) {
	var pool []*instance
	if len(ids) > 0 {
		found, aerr := s.lookupLocked(ids)
		if aerr != nil {
			return nil, aerr
		}
		pool = found
	} else {
		pool = make([]*instance, 0, len(s.instances))
		for _, in := range s.instances {
			pool = append(pool, in)
		}
	}
	out := pool[:0]
	for _, in := range pool {
		if matchAll(in, fs) {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

// lookupLocked resolves instance ids in request order without duplicates:
// InvalidInstanceID.Malformed for the first badly formed id, else
// InvalidInstanceID.NotFound naming every unknown one.
func (s *Server) lookupLocked(ids []string) ([]*instance, *apiError) {
	for _, id := range ids {
		if !validInstanceID(id) {
			return nil, errInstanceMalformed(id)
		}
	}
	var out []*instance
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if in := s.instances[id]; in != nil {
			out = append(out, in)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, errInstanceNotFound(missing)
	}
	return out, nil
}
