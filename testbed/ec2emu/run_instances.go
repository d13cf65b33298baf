package ec2emu

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var (
	amiIDPattern   = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	groupIDPattern = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// maxUserData is EC2's limit on decoded user data.
const maxUserData = 16 * 1024

// launchSpec is a validated RunInstances request.
type launchSpec struct {
	minCount, maxCount int
	imageID            string
	instanceType       string
	subnet             Subnet
	securityGroupIDs   []string
	keyName            string
	profileArn         string
	templateID         string
	userData           []byte
	tags               map[string]string
	clientToken        string
}

// runInstances implements RunInstances.
func (s *Server) runInstances(requestID string, p params) (any, *apiError) {
	spec, aerr := s.parseRunInstances(p)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()

	fingerprint := p.fingerprint("ClientToken")
	if spec.clientToken != "" {
		s.mu.Lock()
		rec, seen := s.tokens[spec.clientToken]
		var body any
		lost := false
		if seen && rec.fingerprint == fingerprint {
			body = s.replayLocked(requestID, rec)
			lost = s.loseRunLocked()
		}
		s.mu.Unlock()
		switch {
		case seen && rec.fingerprint != fingerprint:
			return nil, errIdempotentMismatch
		case seen && lost:
			return nil, errInternal
		case seen:
			return body, nil
		}
	}
	if aerr := s.noCapacity(spec.subnet); aerr != nil {
		return nil, aerr
	}

	ips, aerr := s.allocateIPs(spec.minCount, spec.maxCount)
	if aerr != nil {
		return nil, aerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	resID := newID("r-")
	res := xmlRunInstancesResponse{Xmlns: namespace, RequestID: requestID,
		xmlReservationBody: xmlReservationBody{ReservationID: resID, OwnerID: s.cfg.AccountID}}
	rec := idempotencyRecord{fingerprint: fingerprint, reservationID: resID}
	for i, ip := range ips {
		id := newID("i-")
		for s.instances[id] != nil {
			id = newID("i-")
		}
		s.seq++
		in := &instance{seq: s.seq, Instance: Instance{
			ID:                    id,
			ReservationID:         resID,
			ImageID:               spec.imageID,
			InstanceType:          spec.instanceType,
			SubnetID:              spec.subnet.ID,
			VpcID:                 s.cfg.VpcID,
			AvailabilityZone:      spec.subnet.AvailabilityZone,
			PrivateIP:             ip,
			PrivateDNSName:        s.privateDNSName(ip),
			SecurityGroupIDs:      spec.securityGroupIDs,
			KeyName:               spec.keyName,
			IamInstanceProfileArn: spec.profileArn,
			LaunchTemplateID:      spec.templateID,
			UserData:              spec.userData,
			ClientToken:           spec.clientToken,
			Tags:                  copyTags(spec.tags),
			State:                 StatePending,
			LaunchIndex:           i,
			LaunchTime:            now,
		}}
		s.instances[id] = in
		rec.instanceIDs = append(rec.instanceIDs, id)
		res.Instances = append(res.Instances, s.instanceXML(in))
		s.log.Info("instance created", "id", id, "ip", ip, "az", in.AvailabilityZone, "token", spec.clientToken)
		s.goLocked(func() { s.launch(in) })
	}
	if spec.clientToken != "" {
		s.tokens[spec.clientToken] = rec
	}
	if s.loseRunLocked() {
		return nil, errInternal
	}
	return res, nil
}

// replayLocked answers a repeated ClientToken with the reservation it
// created, showing the instances' current state. Instances that have since
// vanished are left out.
func (s *Server) replayLocked(requestID string, rec idempotencyRecord) xmlRunInstancesResponse {
	res := xmlRunInstancesResponse{Xmlns: namespace, RequestID: requestID,
		xmlReservationBody: xmlReservationBody{ReservationID: rec.reservationID, OwnerID: s.cfg.AccountID}}
	for _, id := range rec.instanceIDs {
		if in := s.instances[id]; in != nil {
			res.Instances = append(res.Instances, s.instanceXML(in))
		}
	}
	return res
}

// parseRunInstances validates a RunInstances request and merges its launch
// template.
func (s *Server) parseRunInstances(p params) (*launchSpec, *apiError) {
	spec := &launchSpec{tags: map[string]string{}}
	tmpl, aerr := s.template(p)
	if aerr != nil {
		return nil, aerr
	}
	if tmpl != nil {
		spec.templateID = tmpl.ID
		for k, v := range tmpl.Tags {
			spec.tags[k] = v
		}
	}
	pick := func(name, fromTemplate, def string) string {
		if v := p.str(name); v != "" {
			return v
		}
		if fromTemplate != "" {
			return fromTemplate
		}
		return def
	}
	var tmplImage, tmplType, tmplSubnet string
	var tmplGroups []string
	if tmpl != nil {
		tmplImage, tmplType, tmplSubnet, tmplGroups = tmpl.ImageID, tmpl.InstanceType, tmpl.SubnetID, tmpl.SecurityGroupIDs
	}

	spec.imageID = pick("ImageId", tmplImage, "")
	if spec.imageID == "" {
		return nil, errMissingParameter("ImageId")
	}
	if !amiIDPattern.MatchString(spec.imageID) {
		return nil, errMalformedID("InvalidAMIID.Malformed", spec.imageID, "ami-...")
	}
	spec.instanceType = pick("InstanceType", tmplType, "m1.small")

	var ok bool
	if spec.minCount, ok, aerr = p.integer("MinCount"); aerr != nil {
		return nil, aerr
	} else if !ok {
		return nil, errMissingParameter("MinCount")
	}
	if spec.maxCount, ok, aerr = p.integer("MaxCount"); aerr != nil {
		return nil, aerr
	} else if !ok {
		return nil, errMissingParameter("MaxCount")
	}
	if spec.minCount < 1 {
		return nil, errInvalidParameterValue("MinCount", strconv.Itoa(spec.minCount))
	}
	if spec.maxCount < spec.minCount {
		return nil, errInvalidParameterValue("MaxCount", strconv.Itoa(spec.maxCount))
	}

	if spec.subnet, aerr = s.subnet(p.str("SubnetId"), tmplSubnet, p.str("Placement.AvailabilityZone")); aerr != nil {
		return nil, aerr
	}
	spec.securityGroupIDs = p.list("SecurityGroupId")
	if len(spec.securityGroupIDs) == 0 {
		spec.securityGroupIDs = append([]string(nil), tmplGroups...)
	}
	for _, g := range spec.securityGroupIDs {
		if !groupIDPattern.MatchString(g) {
			return nil, errMalformedID("InvalidGroupId.Malformed", g, "sg-...")
		}
	}
	spec.keyName = p.str("KeyName")

	switch arn, name := p.str("IamInstanceProfile.Arn"), p.str("IamInstanceProfile.Name"); {
	case arn != "" && name != "":
		return nil, errInvalidParameterCombination("The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'")
	case arn != "":
		spec.profileArn = arn
	case name != "":
		spec.profileArn = fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", s.cfg.AccountID, name)
	}

	if ud := p.str("UserData"); ud != "" {
		data, err := base64.StdEncoding.DecodeString(ud)
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user data."}
		}
		if len(data) > maxUserData {
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue",
				fmt.Sprintf("User data is limited to %d bytes", maxUserData)}
		}
		spec.userData = data
	}

	for _, n := range p.indices("TagSpecification") {
		base := "TagSpecification." + strconv.Itoa(n)
		rt := p.str(base + ".ResourceType")
		if rt == "" {
			return nil, errMissingParameter(base + ".ResourceType")
		}
		tags, aerr := p.tags(base + ".Tag")
		if aerr != nil {
			return nil, aerr
		}
		if rt != "instance" {
			continue // volumes, interfaces: not modelled
		}
		for k, v := range tags {
			spec.tags[k] = v
		}
	}

	spec.clientToken = p.str("ClientToken")
	if len(spec.clientToken) > 64 {
		return nil, errInvalidParameterValue("ClientToken", spec.clientToken)
	}
	return spec, nil
}

// template resolves LaunchTemplate.LaunchTemplateId/Name, or returns nil.
func (s *Server) template(p params) (*LaunchTemplate, *apiError) {
	id, name := p.str("LaunchTemplate.LaunchTemplateId"), p.str("LaunchTemplate.LaunchTemplateName")
	switch {
	case id == "" && name == "":
		return nil, nil
	case id != "" && name != "":
		return nil, errInvalidParameterCombination("Only one of LaunchTemplateId or LaunchTemplateName may be specified")
	}
	for i := range s.cfg.LaunchTemplates {
		t := &s.cfg.LaunchTemplates[i]
		if (id != "" && t.ID == id) || (name != "" && t.Name == name) {
			return t, nil
		}
	}
	if id != "" {
		return nil, &apiError{http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound",
			fmt.Sprintf("The specified launch template, with template ID %s, does not exist.", id)}
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidLaunchTemplateName.NotFoundException",
		fmt.Sprintf("The specified launch template, with template name %s, does not exist.", name)}
}

// subnet picks the subnet of a launch: the request's, the template's, one
// in the requested zone, or the next one in turn.
func (s *Server) subnet(requested, fromTemplate, zone string) (Subnet, *apiError) {
	id := requested
	if id == "" {
		id = fromTemplate
	}
	if id != "" {
		for _, sn := range s.cfg.Subnets {
			if sn.ID == id {
				return sn, nil
			}
		}
		return Subnet{}, &apiError{http.StatusBadRequest, "InvalidSubnetID.NotFound",
			fmt.Sprintf("The subnet ID '%s' does not exist", id)}
	}
	if zone != "" {
		for _, sn := range s.cfg.Subnets {
			if sn.AvailabilityZone == zone {
				return sn, nil
			}
		}
		return Subnet{}, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Invalid availability zone: [%s]", zone)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.cfg.Subnets[s.nextSubnet%len(s.cfg.Subnets)]
	s.nextSubnet++
	return sn, nil
}

// allocateIPs gets up to max addresses, failing unless at least min are
// available. It runs the AllocateIP hook without holding s.mu.
func (s *Server) allocateIPs(min, max int) ([]string, *apiError) {
	var ips []string
	for len(ips) < max {
		ip, err := s.allocateIP()
		if err != nil {
			if len(ips) >= min {
				break
			}
			s.releaseIPs(ips)
			return nil, &apiError{http.StatusBadRequest, "InsufficientFreeAddressesInSubnet",
				fmt.Sprintf("There are not enough free addresses in subnet to satisfy the requested number of instances: %v", err)}
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

func (s *Server) allocateIP() (string, error) {
	if s.cfg.Hooks.AllocateIP != nil {
		return s.cfg.Hooks.AllocateIP()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextIP
	if n >= 250*256 {
		return "", fmt.Errorf("the default 10.0.0.0/16 pool is used up")
	}
	s.nextIP++
	return fmt.Sprintf("10.0.%d.%d", n/250, 4+n%250), nil
}

func (s *Server) releaseIPs(ips []string) {
	if s.cfg.Hooks.ReleaseIP == nil {
		return
	}
	for _, ip := range ips {
		s.cfg.Hooks.ReleaseIP(ip)
	}
}

// privateDNSName is EC2's ip-name form of a private address.
func (s *Server) privateDNSName(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if s.cfg.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + s.cfg.Region + ".compute.internal"
}

func copyTags(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
