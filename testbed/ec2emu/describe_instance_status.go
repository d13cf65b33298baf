package ec2emu

// describeInstanceStatus implements DescribeInstanceStatus: running
// instances only unless IncludeAllInstances, InstanceId.N, Filter.N (see
// statusFields), MaxResults and NextToken.
func (s *Server) describeInstanceStatus(requestID string, p params, _ principal) (any, *apiError) {
	all, aerr := p.boolean("IncludeAllInstances")
	if aerr != nil {
		return nil, aerr
	}
	q, aerr := parseDescribe(p, statusFields, false)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, aerr := s.selectLocked(q.ids, q.fs)
	if aerr != nil {
		return nil, aerr
	}
	if !all {
		running := sel[:0]
		for _, in := range sel {
			if in.State == StateRunning {
				running = append(running, in)
			}
		}
		sel = running
	}
	page, next := paginate(sel, q.start, q.size)
	out := xmlDescribeInstanceStatusResponse{Xmlns: namespace, RequestID: requestID, NextToken: next}
	for _, in := range page {
		sum := xmlStatusSummary{Status: statusSummary(in)}
		if detail := reachability(sum.Status); detail != "" {
			sum.Details = []xmlStatusDetail{{Name: "reachability", Status: detail}}
		}
		out.Statuses = append(out.Statuses, xmlInstanceStatus{
			InstanceID:       in.ID,
			AvailabilityZone: in.AvailabilityZone,
			InstanceState:    stateXML(in.State),
			SystemStatus:     sum,
			InstanceStatus:   sum,
		})
	}
	return out, nil
}

// statusSummary is the instance and system status EC2 reports: ok or
// impaired while running, not-applicable otherwise.
func statusSummary(in *instance) string {
	switch {
	case in.State != StateRunning:
		return "not-applicable"
	case in.Impaired:
		return "impaired"
	}
	return "ok"
}

// reachability is the detail status behind a summary status.
func reachability(summary string) string {
	switch summary {
	case "ok":
		return "passed"
	case "impaired":
		return "failed"
	}
	return ""
}
