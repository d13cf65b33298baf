package bootstrap

import "regexp"

// azRegion matches the region at the start of an availability zone name:
// "eu-west-1a", "us-gov-west-1b", and local or wavelength zones such as
// "us-west-2-lax-1a" all begin with their region.
var azRegion = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d+)(?:[a-z]$|-)`)

// regionFromAZ derives the region from an availability zone name.
func regionFromAZ(az string) (string, bool) {
	m := azRegion.FindStringSubmatch(az)
	if m == nil {
		return "", false
	}
	return m[1], true
}
