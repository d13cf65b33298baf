package ec2emu

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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
	subnet             *Subnet // nil: none named, the emulator picks
	privateIP          string
	spot               *spotSpec // nil: on demand
	securityGroupIDs   []string
	keyName            string
	profileArn         string
	templateID         string
	userData           []byte
	tags               map[string]string
	clientToken        string
}

// runInstances implements RunInstances.
func (s *Server) runInstances(requestID string, p params, as principal) (any, *apiError) {
	spec, aerr := s.parseRunInstances(p, as)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	fingerprint := p.fingerprint("ClientToken")
	if spec.clientToken != "" {
		if rec, seen := s.tokens[spec.clientToken]; seen {
			if rec.fingerprint != fingerprint {
				return nil, errIdempotentMismatch
			}
			body := s.replayLocked(requestID, rec)
			if s.loseRunLocked() {
				return nil, errInternal
			}
			return body, nil
		}
	}
	sn := spec.subnet
	if sn == nil {
		sn = s.nextSubnetLocked(spec.minCount)
	}
	if aerr := s.noCapacityLocked(*sn); aerr != nil {
		return nil, aerr
	}
	ids := make([]string, 0, spec.maxCount)
	for len(ids) < spec.maxCount {
		id := newID("i-")
		if s.instances[id] == nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	ips, aerr := s.allocateLocked(sn.ID, spec, ids)
	if aerr != nil {
		return nil, aerr
	}

	now := s.clock.Now()
	resID := newID("r-")
	res := xmlRunInstancesResponse{Xmlns: namespace, RequestID: requestID,
		xmlReservationBody: xmlReservationBody{ReservationID: resID, OwnerID: s.cfg.AccountID}}
	rec := idempotencyRecord{fingerprint: fingerprint, reservationID: resID}
	for i, ip := range ips {
		id := ids[i]
		s.seq++
		in := &instance{seq: s.seq, Instance: Instance{
			ID:                    id,
			ReservationID:         resID,
			ImageID:               spec.imageID,
			InstanceType:          spec.instanceType,
			SubnetID:              sn.ID,
			VpcID:                 s.cfg.VpcID,
			AvailabilityZone:      sn.AvailabilityZone,
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
		}, holdsIP: true}
		if spec.spot != nil {
			in.InstanceLifecycle = lifecycleSpot
			in.SpotInstanceRequestID = newSpotRequestID()
			in.SpotInstanceType = spec.spot.requestType
			in.InterruptionBehavior = spec.spot.behaviour
		}
		joinGroupLocked(in)
		s.instances[id] = in
		rec.instanceIDs = append(rec.instanceIDs, id)
		res.Instances = append(res.Instances, s.instanceXML(in))
		s.log.Info("instance created", "id", id, "ip", ip, "az", in.AvailabilityZone, "token", spec.clientToken)
		s.bootLocked(in)
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
func (s *Server) parseRunInstances(p params, as principal) (*launchSpec, *apiError) {
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

	spec.privateIP = p.str("PrivateIpAddress")
	if spec.privateIP != "" && spec.maxCount > 1 {
		return nil, errInvalidParameterCombination("Cannot specify a private IP address when launching more than one instance")
	}
	if spec.subnet, aerr = s.subnet(p.str("SubnetId"), tmplSubnet, p.str("Placement.AvailabilityZone"), spec.privateIP); aerr != nil {
		return nil, aerr
	}
	if spec.privateIP != "" {
		if _, aerr := s.pools[spec.subnet.ID].check(spec.privateIP); aerr != nil {
			return nil, aerr
		}
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
		if aerr := s.reservedTags(tags, as, false); aerr != nil {
			return nil, aerr
		}
		if rt != "instance" {
			continue // volumes, interfaces: not modelled
		}
		for k, v := range tags {
			spec.tags[k] = v
		}
	}

	if spec.spot, aerr = parseMarket(p); aerr != nil {
		return nil, aerr
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

// subnet resolves the subnet a launch names: the request's, the
// template's, or one in the requested zone (the one holding ip, when an
// address was asked for). nil means none was named; nextSubnetLocked then
// picks one, or the subnet holding ip does.
func (s *Server) subnet(requested, fromTemplate, zone, ip string) (*Subnet, *apiError) {
	id := requested
	if id == "" {
		id = fromTemplate
	}
	if id != "" {
		for i, sn := range s.cfg.Subnets {
			if sn.ID == id {
				return &s.cfg.Subnets[i], nil
			}
		}
		return nil, &apiError{http.StatusBadRequest, "InvalidSubnetID.NotFound",
			fmt.Sprintf("The subnet ID '%s' does not exist", id)}
	}
	var inZone *Subnet
	for i, sn := range s.cfg.Subnets {
		if zone != "" && sn.AvailabilityZone != zone {
			continue
		}
		if ip != "" && s.pools[sn.ID].contains(ip) {
			return &s.cfg.Subnets[i], nil
		}
		if inZone == nil {
			inZone = &s.cfg.Subnets[i]
		}
	}
	switch {
	case zone != "" && inZone == nil:
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Invalid availability zone: [%s]", zone)}
	case zone != "":
		return inZone, nil // ip, if any, is outside it: parseRunInstances says so
	case ip != "":
		// EC2 would pick a default subnet the address is then not in.
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Address %s does not fall within the subnet's address range", ip)}
	}
	return nil, nil
}

// nextSubnetLocked picks the subnet of a launch that names none: the next
// one in turn with at least min free addresses, or the next one in turn
// when none has (the launch then fails there).
func (s *Server) nextSubnetLocked(min int) *Subnet {
	n := len(s.cfg.Subnets)
	start := s.nextSubnet % n
	s.nextSubnet++
	for i := range n {
		sn := &s.cfg.Subnets[(start+i)%n]
		if s.pools[sn.ID].free() >= min {
			s.nextSubnet = start + i + 1
			return sn
		}
	}
	return &s.cfg.Subnets[start]
}

// allocateLocked gives ids (one per instance, up to MaxCount) addresses
// from the subnet's pool: the requested one, or up to MaxCount free ones
// by the address policy, failing unless MinCount are free.
func (s *Server) allocateLocked(subnetID string, spec *launchSpec, ids []string) ([]string, *apiError) {
	pool := s.pools[subnetID]
	if spec.privateIP != "" {
		if aerr := pool.claim(spec.privateIP, ids[0]); aerr != nil {
			return nil, aerr
		}
		return []string{spec.privateIP}, nil
	}
	if pool.free() < spec.minCount {
		return nil, &apiError{http.StatusBadRequest, "InsufficientFreeAddressesInSubnet",
			fmt.Sprintf("There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", subnetID)}
	}
	var ips []string
	for _, id := range ids {
		ip, ok := pool.take(id, s.cfg.AddressPolicy)
		if !ok {
			break
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

// releaseLocked returns the instance's address to its subnet's pool, as
// EC2 does once an instance is terminated. The instance keeps PrivateIP
// as a record of the address it had.
func (s *Server) releaseLocked(in *instance) {
	if !in.holdsIP {
		return
	}
	in.holdsIP = false
	if pool := s.pools[in.SubnetID]; pool != nil {
		pool.release(in.PrivateIP, in.ID)
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
