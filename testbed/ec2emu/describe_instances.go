package ec2emu

// describeInstances implements DescribeInstances: InstanceId.N, Filter.N
// (see instanceFields and tag:KEY), MaxResults and NextToken.
func (s *Server) describeInstances(requestID string, p params) (any, *apiError) {
	ids := p.list("InstanceId")
	raw, aerr := p.filters()
	if aerr != nil {
		return nil, aerr
	}
	fs, aerr := compileFilters(raw, instanceFields, true)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := pageSize(p, "MaxResults", ids)
	if aerr != nil {
		return nil, aerr
	}
	start, aerr := pageStart(p.str("NextToken"))
	if aerr != nil {
		return nil, aerr
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sel, aerr := s.selectLocked(ids, fs)
	if aerr != nil {
		return nil, aerr
	}
	page, next := paginate(sel, start, size)
	return xmlDescribeInstancesResponse{
		Xmlns:        namespace,
		RequestID:    requestID,
		Reservations: s.reservationsXML(page),
		NextToken:    next,
	}, nil
}
