package render

import (
	"time"

	"github.com/farmhand/farmhand/membership"
)

const testCluster = "farm-test"

var testSince = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func member(name, addr string, status membership.Status, tags ...string) membership.Member {
	m := membership.Member{Name: name, Addr: addr, Port: 7946, Status: status, Since: testSince}
	if len(tags) > 0 {
		m.Tags = map[string]string{}
		for i := 0; i+1 < len(tags); i += 2 {
			m.Tags[tags[i]] = tags[i+1]
		}
	}
	return m
}

// fixtureView is a fixed view with every status and several roles, given
// out of order so that sorting shows. fixtureLocal is the tomcat node
// i-0a06.
func fixtureView() []membership.Member {
	return []membership.Member{
		member("i-0a08", "10.0.1.10", membership.StatusAlive, "role", "tomcat"),
		member("i-0a02", "10.0.1.2", membership.StatusAlive, "role", "datanode", "az", "eu-west-1a"),
		member("i-0a05", "10.0.1.5", membership.StatusLeft, "role", "datanode"),
		member("i-0a01", "10.0.1.1", membership.StatusAlive, "role", "namenode", "hostname", "nn1.farm.internal"),
		member("i-0a04", "10.0.1.4", membership.StatusDead, "role", "datanode", "hostname", "dn4.farm.internal"),
		member("i-0a03", "10.0.1.3", membership.StatusSuspect, "role", "datanode"),
		member("i-0a07", "10.0.1.7", membership.StatusDead, "role", "tomcat", "tomcat_port", "4100"),
		member("i-0a06", "10.0.1.6", membership.StatusAlive, "role", "tomcat", "tomcat_port", "4100"),
		member("i-0a09", "10.0.1.9", membership.StatusAlive),
		member("i-0a11", "10.0.1.11", membership.StatusDraining, "role", "datanode"),
	}
}

func fixtureLocal() membership.Member {
	for _, m := range fixtureView() {
		if m.Name == "i-0a06" {
			return m
		}
	}
	panic("fixture has no i-0a06")
}

// goldenCases maps every built-in template to the filter its golden file
// is rendered with.
var goldenCases = map[string]Filter{
	"hadoop-workers":  {Role: "datanode"},
	"hdfs-hosts":      {Role: "datanode"},
	"hdfs-exclude":    {Role: "datanode"},
	"hdfs-hosts-json": {Role: "datanode"},
	"yarn-include":    {},
	"yarn-exclude":    {},
	"tomcat-static":   {Role: "tomcat"},
	"etc-hosts":       {},
	"json":            {},
}
