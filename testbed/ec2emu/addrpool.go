package ec2emu

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
)

// AddressPolicy says which free address of a subnet RunInstances hands
// out when the request names none.
//
// EC2 does not document its choice; in practice a subnet's free addresses
// are handed out again soon after their instances terminate, which is what
// breaks software that takes an address for an identity. The emulator's
// default makes that reuse certain rather than likely, so tests can
// provoke it on purpose.
type AddressPolicy string

const (
	// AddressLowest hands out the lowest free address of the subnet (the
	// default). A terminated instance's address is the next one given in
	// its subnet unless a lower one is free: in a farm launched in one go,
	// the replacement of a dead instance takes the dead one's address.
	AddressLowest AddressPolicy = "lowest"
	// AddressRandom picks uniformly among the free addresses, as EC2
	// appears to: reuse happens, by chance, more often in a full subnet.
	AddressRandom AddressPolicy = "random"
)

// subnetReservedHead and subnetReservedTail are the addresses EC2 keeps in
// every subnet: the network address, the VPC router, the DNS server and
// one for future use at the start, and the broadcast address at the end.
const (
	subnetReservedHead = 4
	subnetReservedTail = 1
)

// subnetPool is the address pool of one subnet. Guarded by Server.mu.
type subnetPool struct {
	prefix netip.Prefix
	base   uint32 // the network address
	size   uint32 // addresses in the CIDR block, reserved ones included
	// owner maps the offset of each address in use to its instance id.
	owner map[uint32]string
}

// newSubnetPool parses a subnet's CIDR block, which EC2 allows between /16
// and /28.
func newSubnetPool(cidr string) (*subnetPool, error) {
	prefix, err := netip.ParsePrefix(cidr)
	switch {
	case err != nil:
		return nil, fmt.Errorf("CIDR %q: %w", cidr, err)
	case !prefix.Addr().Is4():
		return nil, fmt.Errorf("CIDR %q is not IPv4 (the emulator models IPv4 subnets only)", cidr)
	case prefix.Masked() != prefix:
		return nil, fmt.Errorf("CIDR %q has host bits set; did you mean %s?", cidr, prefix.Masked())
	case prefix.Bits() < 16 || prefix.Bits() > 28:
		return nil, fmt.Errorf("CIDR %q: EC2 subnets are /16 to /28", cidr)
	}
	b := prefix.Addr().As4()
	return &subnetPool{
		prefix: prefix,
		base:   binary.BigEndian.Uint32(b[:]),
		size:   1 << (32 - prefix.Bits()),
		owner:  map[uint32]string{},
	}, nil
}

// usable is how many addresses instances can have.
func (p *subnetPool) usable() int { return int(p.size - subnetReservedHead - subnetReservedTail) }

// free is how many usable addresses no instance holds.
func (p *subnetPool) free() int { return p.usable() - len(p.owner) }

func (p *subnetPool) addr(off uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], p.base+off)
	return netip.AddrFrom4(b).String()
}

// offset returns where ip lies in the block; ok is false outside it.
func (p *subnetPool) offset(ip netip.Addr) (uint32, bool) {
	if !ip.Is4() || !p.prefix.Contains(ip) {
		return 0, false
	}
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:]) - p.base, true
}

// take gives the next free address to id by policy; ok is false when the
// subnet is full.
func (p *subnetPool) take(id string, policy AddressPolicy) (string, bool) {
	if p.free() <= 0 {
		return "", false
	}
	last := p.size - subnetReservedTail
	if policy == AddressRandom {
		skip := rand.IntN(p.free())
		for off := uint32(subnetReservedHead); off < last; off++ {
			if _, used := p.owner[off]; used {
				continue
			}
			if skip == 0 {
				p.owner[off] = id
				return p.addr(off), true
			}
			skip--
		}
		return "", false // unreachable: free() > 0
	}
	for off := uint32(subnetReservedHead); off < last; off++ {
		if _, used := p.owner[off]; !used {
			p.owner[off] = id
			return p.addr(off), true
		}
	}
	return "", false
}

// claim gives the address ip to id, with the error EC2 answers when ip is
// outside the subnet, reserved or in use.
func (p *subnetPool) claim(ip, id string) *apiError {
	off, aerr := p.check(ip)
	if aerr != nil {
		return aerr
	}
	if _, used := p.owner[off]; used {
		return errAddressInUse(ip)
	}
	p.owner[off] = id
	return nil
}

// check validates ip as an address an instance of this subnet may have,
// whether or not it is free, and returns its offset.
func (p *subnetPool) check(ip string) (uint32, *apiError) {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() {
		return 0, errInvalidParameterValue("PrivateIpAddress", ip)
	}
	off, ok := p.offset(addr)
	switch {
	case !ok:
		return 0, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Address %s does not fall within the subnet's address range", ip)}
	case off < subnetReservedHead || off >= p.size-subnetReservedTail:
		return 0, &apiError{http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Address %s is in subnet's reserved address range", ip)}
	}
	return off, nil
}

// contains reports whether ip lies in the subnet's block.
func (p *subnetPool) contains(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && addr.Is4() && p.prefix.Contains(addr)
}

// release returns ip to the pool if id holds it.
func (p *subnetPool) release(ip, id string) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	if off, ok := p.offset(addr); ok && p.owner[off] == id {
		delete(p.owner, off)
	}
}
