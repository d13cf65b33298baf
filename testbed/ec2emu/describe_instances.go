package ec2emu

// describeQuery is what both Describe actions take: instance ids, filters
// and a page.
type describeQuery struct {
	ids   []string
	fs    []compiledFilter
	size  int
	start uint64
}

// parseDescribe reads InstanceId.N, Filter.N (over fields; tag:KEY when
// tags), MaxResults and NextToken, and answers DryRun.
func parseDescribe(p params, fields map[string]field, tags bool) (describeQuery, *apiError) {
	q := describeQuery{ids: p.list("InstanceId")}
	raw, aerr := p.filters()
	if aerr != nil {
		return q, aerr
	}
	if q.fs, aerr = compileFilters(raw, fields, tags); aerr != nil {
		return q, aerr
	}
	if q.size, aerr = pageSize(p, "MaxResults", q.ids); aerr != nil {
		return q, aerr
	}
	if q.start, aerr = pageStart(p.str("NextToken")); aerr != nil {
		return q, aerr
	}
	return q, dryRun(p)
}

// describeInstances implements DescribeInstances: InstanceId.N, Filter.N
// (see instanceFields and tag:KEY), MaxResults and NextToken.
func (s *Server) describeInstances(requestID string, p params, _ principal) (any, *apiError) {
	q, aerr := parseDescribe(p, instanceFields, true)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, aerr := s.selectLocked(q.ids, q.fs)
	if aerr != nil {
		return nil, aerr
	}
	page, next := paginate(sel, q.start, q.size)
	return xmlDescribeInstancesResponse{
		Xmlns:        namespace,
		RequestID:    requestID,
		Reservations: s.reservationsXML(page),
		NextToken:    next,
	}, nil
}
