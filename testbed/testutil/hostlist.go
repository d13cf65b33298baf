package testutil

import (
	"os"
	"strings"
)

// HostLines reads a rendered plain host list (Hadoop's dfs.hosts format):
// its non-empty lines that are not comments, trimmed.
func HostLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			hosts = append(hosts, l)
		}
	}
	return hosts, nil
}
