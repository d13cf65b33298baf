package ec2emu

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// namespace is the XML namespace of every EC2 2016-11-15 response.
const namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// The response shapes below follow botocore's ec2 service model
// (locationName of each member); lists are <xSet><item>...</item></xSet>.

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateXML(s State) xmlState { return xmlState{Code: s.Code(), Name: string(s)} }

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName,omitempty"`
}

type xmlPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type xmlMonitoring struct {
	State string `xml:"state"`
}

type xmlStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xmlProfile struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type xmlInstance struct {
	InstanceID         string          `xml:"instanceId"`
	ImageID            string          `xml:"imageId"`
	State              xmlState        `xml:"instanceState"`
	PrivateDNSName     string          `xml:"privateDnsName"`
	DNSName            string          `xml:"dnsName"`
	Reason             string          `xml:"reason"`
	KeyName            string          `xml:"keyName,omitempty"`
	AmiLaunchIndex     int             `xml:"amiLaunchIndex"`
	InstanceType       string          `xml:"instanceType"`
	LaunchTime         string          `xml:"launchTime"`
	Placement          xmlPlacement    `xml:"placement"`
	Monitoring         xmlMonitoring   `xml:"monitoring"`
	SubnetID           string          `xml:"subnetId,omitempty"`
	VpcID              string          `xml:"vpcId,omitempty"`
	PrivateIPAddress   string          `xml:"privateIpAddress,omitempty"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	Groups             []xmlGroup      `xml:"groupSet>item"`
	StateReason        *xmlStateReason `xml:"stateReason,omitempty"`
	Architecture       string          `xml:"architecture"`
	RootDeviceType     string          `xml:"rootDeviceType"`
	RootDeviceName     string          `xml:"rootDeviceName"`
	VirtualizationType string          `xml:"virtualizationType"`
	ClientToken        string          `xml:"clientToken"`
	Tags               []xmlTag        `xml:"tagSet>item"`
	Hypervisor         string          `xml:"hypervisor"`
	IamInstanceProfile *xmlProfile     `xml:"iamInstanceProfile,omitempty"`
	EbsOptimized       bool            `xml:"ebsOptimized"`
	InstanceLifecycle  string          `xml:"instanceLifecycle,omitempty"`
	SpotRequestID      string          `xml:"spotInstanceRequestId,omitempty"`
	PlatformDetails    string          `xml:"platformDetails"`
}

// xmlReservationBody is the Reservation shape; RunInstances returns it as
// the response body itself, DescribeInstances as items of reservationSet.
type xmlReservationBody struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []xmlGroup    `xml:"groupSet>item"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type xmlRunInstancesResponse struct {
	XMLName   xml.Name `xml:"RunInstancesResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	xmlReservationBody
}

type xmlDescribeInstancesResponse struct {
	XMLName      xml.Name             `xml:"DescribeInstancesResponse"`
	Xmlns        string               `xml:"xmlns,attr"`
	RequestID    string               `xml:"requestId"`
	Reservations []xmlReservationBody `xml:"reservationSet>item"`
	NextToken    string               `xml:"nextToken,omitempty"`
}

type xmlStatusDetail struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type xmlStatusSummary struct {
	Status  string            `xml:"status"`
	Details []xmlStatusDetail `xml:"details>item"`
}

type xmlInstanceStatus struct {
	InstanceID       string           `xml:"instanceId"`
	AvailabilityZone string           `xml:"availabilityZone"`
	InstanceState    xmlState         `xml:"instanceState"`
	SystemStatus     xmlStatusSummary `xml:"systemStatus"`
	InstanceStatus   xmlStatusSummary `xml:"instanceStatus"`
}

type xmlDescribeInstanceStatusResponse struct {
	XMLName   xml.Name            `xml:"DescribeInstanceStatusResponse"`
	Xmlns     string              `xml:"xmlns,attr"`
	RequestID string              `xml:"requestId"`
	Statuses  []xmlInstanceStatus `xml:"instanceStatusSet>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

type xmlStateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  xmlState `xml:"currentState"`
	PreviousState xmlState `xml:"previousState"`
}

// xmlStateChangeResponse serves TerminateInstances, StopInstances and
// StartInstances; the element name is set per action.
type xmlStateChangeResponse struct {
	XMLName   xml.Name
	Xmlns     string           `xml:"xmlns,attr"`
	RequestID string           `xml:"requestId"`
	Changes   []xmlStateChange `xml:"instancesSet>item"`
}

type xmlReturnResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"Response"`
	Errors    []xmlErr `xml:"Errors>Error"`
	RequestID string   `xml:"RequestID"`
}

type xmlErr struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// timeXML formats a timestamp the way EC2 does.
func timeXML(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// instanceXML renders one instance.
func (s *Server) instanceXML(in *instance) xmlInstance {
	x := xmlInstance{
		InstanceID:         in.ID,
		ImageID:            in.ImageID,
		State:              stateXML(in.State),
		Reason:             in.StateTransitionReason,
		KeyName:            in.KeyName,
		AmiLaunchIndex:     in.LaunchIndex,
		InstanceType:       in.InstanceType,
		LaunchTime:         timeXML(in.LaunchTime),
		Placement:          xmlPlacement{AvailabilityZone: in.AvailabilityZone, Tenancy: "default"},
		Monitoring:         xmlMonitoring{State: "disabled"},
		SubnetID:           in.SubnetID,
		VpcID:              in.VpcID,
		SourceDestCheck:    true,
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     "/dev/xvda",
		VirtualizationType: "hvm",
		ClientToken:        in.ClientToken,
		InstanceLifecycle:  in.InstanceLifecycle,
		SpotRequestID:      in.SpotInstanceRequestID,
		Hypervisor:         "xen",
		PlatformDetails:    "Linux/UNIX",
	}
	// EC2 drops the network details of a terminated instance.
	if in.State != StateTerminated {
		x.PrivateDNSName = in.PrivateDNSName
		x.PrivateIPAddress = in.PrivateIP
	}
	for _, g := range in.SecurityGroupIDs {
		x.Groups = append(x.Groups, xmlGroup{GroupID: g})
	}
	if in.StateReason != "" {
		code, _, _ := strings.Cut(in.StateReason, ":")
		x.StateReason = &xmlStateReason{Code: code, Message: in.StateReason}
	}
	keys := make([]string, 0, len(in.Tags))
	for k := range in.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.Tags = append(x.Tags, xmlTag{Key: k, Value: in.Tags[k]})
	}
	if in.IamInstanceProfileArn != "" {
		x.IamInstanceProfile = &xmlProfile{Arn: in.IamInstanceProfileArn, ID: "AIPA" + strings.ToUpper(in.ID[2:])}
	}
	return x
}

// reservationsXML groups instances (in order) into their reservations.
func (s *Server) reservationsXML(ins []*instance) []xmlReservationBody {
	var out []xmlReservationBody
	index := map[string]int{}
	for _, in := range ins {
		i, ok := index[in.ReservationID]
		if !ok {
			i = len(out)
			index[in.ReservationID] = i
			out = append(out, xmlReservationBody{ReservationID: in.ReservationID, OwnerID: s.cfg.AccountID})
		}
		out[i].Instances = append(out[i].Instances, s.instanceXML(in))
	}
	return out
}

// writeXML sends a 200 response with body v.
func writeXML(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		http.Error(w, "ec2emu: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeError sends the EC2 error document for err.
func writeError(w http.ResponseWriter, requestID string, err *apiError) {
	writeXML(w, err.status, xmlErrorResponse{
		Errors:    []xmlErr{{Code: err.code, Message: err.message}},
		RequestID: requestID,
	})
}
