package ec2emu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// createTags implements CreateTags for instances: ResourceId.N and
// Tag.N.Key/Value. Ids of other resource types are rejected as InvalidID.
func (s *Server) createTags(requestID string, p params, as principal) (any, *apiError) {
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("ResourceId")
	}
	tags, aerr := p.tags("Tag")
	if aerr != nil {
		return nil, aerr
	}
	if len(tags) == 0 {
		return nil, errMissingParameter("Tag")
	}
	if aerr := s.reservedTags(tags, as, true); aerr != nil {
		return nil, aerr
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return nil, &apiError{http.StatusBadRequest, "InvalidID",
				fmt.Sprintf("The ID '%s' is not valid (the emulator tags instances only)", id)}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, aerr := s.lookupLocked(ids)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}
	for _, in := range ins {
		for k, v := range tags {
			in.Tags[k] = v
		}
		joinGroupLocked(in)
	}
	return xmlReturnResponse{XMLName: xml.Name{Local: "CreateTagsResponse"}, Xmlns: namespace,
		RequestID: requestID, Return: true}, nil
}
