package render

import (
	"crypto/sha256"
	"strconv"
	"strings"
)

// TomcatUniqueID derives a Tomcat Tribes StaticMember uniqueId from an
// instance id: the first 16 bytes of SHA-256(id), written as Tomcat parses
// it, "{b0,b1,...,b15}". Tomcat reads each element with Byte.parseByte, so
// the bytes are printed as signed Java bytes (-128..127) with no spaces.
func TomcatUniqueID(instanceID string) string {
	sum := sha256.Sum256([]byte(instanceID))
	parts := make([]string, 16)
	for i, b := range sum[:16] {
		parts[i] = strconv.Itoa(int(int8(b)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
