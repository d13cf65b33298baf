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
func (e *Emulator) runInstances(requestID string, p params) (any, *apiError) {
	spec, aerr := e.parseRunInstances(p)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()

	fingerprint := p.fingerprint("ClientToken")
	if spec.clientToken != "" {
		e.mu.Lock()
		rec, seen := e.tokens[spec.clientToken]
		var body any
		if seen && rec.fingerprint == fingerprint {
			body = e.replayLocked(requestID, rec)
		}
		e.mu.Unlock()
		switch {
		case seen && rec.fingerprint != fingerprint:
			return nil, errIdempotentMismatch
		case seen:
			return body, nil
		}
	}

	ips, aerr := e.allocateIPs(spec.minCount, spec.maxCount)
	if aerr != nil {
		return nil, aerr
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	resID := newID("r-")
	res := xmlRunInstancesResponse{Xmlns: namespace, RequestID: requestID,
		xmlReservationBody: xmlReservationBody{ReservationID: resID, OwnerID: e.cfg.AccountID}}
	rec := idempotencyRecord{fingerprint: fingerprint, reservationID: resID}
	for i, ip := range ips {
		id := newID("i-")
		for e.instances[id] != nil {
			id = newID("i-")
		}
		e.seq++
		in := &instance{seq: e.seq, Instance: Instance{
			ID:                    id,
			ReservationID:         resID,
			ImageID:               spec.imageID,
			InstanceType:          spec.instanceType,
			SubnetID:              spec.subnet.ID,
			VpcID:                 e.cfg.VpcID,
			AvailabilityZone:      spec.subnet.AvailabilityZone,
			PrivateIP:             ip,
			PrivateDNSName:        e.privateDNSName(ip),
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
		e.instances[id] = in
		rec.instanceIDs = append(rec.instanceIDs, id)
		res.Instances = append(res.Instances, e.instanceXML(in))
		e.log.Info("instance created", "id", id, "ip", ip, "az", in.AvailabilityZone, "token", spec.clientToken)
		e.goLocked(func() { e.launch(in) })
	}
	if spec.clientToken != "" {
		e.tokens[spec.clientToken] = rec
	}
	return res, nil
}

// replayLocked answers a repeated ClientToken with the reservation it
// created, showing the instances' current state. Instances that have since
// vanished are left out.
func (e *Emulator) replayLocked(requestID string, rec idempotencyRecord) xmlRunInstancesResponse {
	res := xmlRunInstancesResponse{Xmlns: namespace, RequestID: requestID,
		xmlReservationBody: xmlReservationBody{ReservationID: rec.reservationID, OwnerID: e.cfg.AccountID}}
	for _, id := range rec.instanceIDs {
		if in := e.instances[id]; in != nil {
			res.Instances = append(res.Instances, e.instanceXML(in))
		}
	}
	return res
}

// parseRunInstances validates a RunInstances request and merges its launch
// template.
func (e *Emulator) parseRunInstances(p params) (*launchSpec, *apiError) {
	spec := &launchSpec{tags: map[string]string{}}
	tmpl, aerr := e.template(p)
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

	if spec.subnet, aerr = e.subnet(p.str("SubnetId"), tmplSubnet, p.str("Placement.AvailabilityZone")); aerr != nil {
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
		spec.profileArn = fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", e.cfg.AccountID, name)
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
func (e *Emulator) template(p params) (*LaunchTemplate, *apiError) {
	id, name := p.str("LaunchTemplate.LaunchTemplateId"), p.str("LaunchTemplate.LaunchTemplateName")
	switch {
	case id == "" && name == "":
		return nil, nil
	case id != "" && name != "":
		return nil, errInvalidParameterCombination("Only one of LaunchTemplateId or LaunchTemplateName may be specified")
	}
	for i := range e.cfg.LaunchTemplates {
		t := &e.cfg.LaunchTemplates[i]
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
func (e *Emulator) subnet(requested, fromTemplate, zone string) (Subnet, *apiError) {
	id := requested
	if id == "" {
		id = fromTemplate
	}
	if id != "" {
		for _, s := range e.cfg.Subnets {
			if s.ID == id {
				return s, nil
			}
		}
		return Subnet{}, &apiError{http.StatusBadRequest, "InvalidSubnetID.NotFound",
			fmt.Sprintf("The subnet ID '%s' does not exist", id)}
	}
	if zone != "" {
		for _, s := range e.cfg.Subnets {
			if s.AvailabilityZone == zone {
				return s, nil
			}
		}
		return Subnet{}, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Invalid availability zone: [%s]", zone)}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.cfg.Subnets[e.nextSubnet%len(e.cfg.Subnets)]
	e.nextSubnet++
	return s, nil
}

// allocateIPs gets up to max addresses, failing unless at least min are
// available. It runs the AllocateIP hook without holding e.mu.
func (e *Emulator) allocateIPs(min, max int) ([]string, *apiError) {
	var ips []string
	for len(ips) < max {
		ip, err := e.allocateIP()
		if err != nil {
			if len(ips) >= min {
				break
			}
			e.releaseIPs(ips)
			return nil, &apiError{http.StatusBadRequest, "InsufficientFreeAddressesInSubnet",
				fmt.Sprintf("There are not enough free addresses in subnet to satisfy the requested number of instances: %v", err)}
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

func (e *Emulator) allocateIP() (string, error) {
	if e.cfg.Hooks.AllocateIP != nil {
		return e.cfg.Hooks.AllocateIP()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.nextIP
	if n >= 250*256 {
		return "", fmt.Errorf("the default 10.0.0.0/16 pool is used up")
	}
	e.nextIP++
	return fmt.Sprintf("10.0.%d.%d", n/250, 4+n%250), nil
}

func (e *Emulator) releaseIPs(ips []string) {
	if e.cfg.Hooks.ReleaseIP == nil {
		return
	}
	for _, ip := range ips {
		e.cfg.Hooks.ReleaseIP(ip)
	}
}

// privateDNSName is EC2's ip-name form of a private address.
func (e *Emulator) privateDNSName(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if e.cfg.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + e.cfg.Region + ".compute.internal"
}

func copyTags(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
