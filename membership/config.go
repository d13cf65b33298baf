package membership

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// Config configures a Cluster. Start from DefaultLANConfig or
// DefaultLocalConfig, set Name and the addresses, then call Create.
type Config struct {
	// Name is this member's unique name: the EC2 instance id, so that a
	// replacement instance that reuses an IP is a new member, not a conflict.
	Name string

	// BindAddr is the IP address gossip listens on (UDP and TCP).
	BindAddr string

	// BindPort is the gossip port (UDP and TCP). 0 picks a free port.
	BindPort int

	// AdvertiseAddr is the IP address other members use to reach this one.
	// Empty means the address memberlist finds on BindAddr.
	AdvertiseAddr string

	// AdvertisePort is the port advertised with AdvertiseAddr. 0 means
	// BindPort (or the port actually bound when BindPort is 0).
	AdvertisePort int

	// Cluster is the cluster name. It becomes memberlist's Label, which
	// prefixes every packet and stream (and is GCM authenticated data when
	// Keys are set), so members of two clusters never merge.
	Cluster string

	// Tags are this member's metadata (role, az, user tags), gossiped as
	// node meta; at most memberlist.MetaMaxSize (512) bytes once encoded.
	Tags map[string]string

	// Keys are the AES gossip keys (16, 24 or 32 bytes each). Keys[0] is
	// the primary key, used to encrypt; all keys are tried to decrypt.
	// Empty means no encryption, which cannot be turned on later without
	// a restart.
	Keys [][]byte

	// ReapTime is how long dead and left members stay in the view (with
	// their status and the time they got there) before an EventReap.
	ReapTime time.Duration

	// ReconnectInterval is the mean interval (jittered by +-50%) between
	// attempts to reconnect to one random dead member, which heals network
	// partitions. 0 disables reconnecting.
	ReconnectInterval time.Duration

	// ReconnectTimeout is how long after a member died reconnect attempts
	// to it continue.
	ReconnectTimeout time.Duration

	// IsolationCheckInterval is the mean interval (jittered) between checks
	// whether this member is isolated: no other member alive in its view.
	// An isolated member calls Discover and joins what it returns. 0
	// disables the check. (See isolated in heal.go for why the registry's
	// count of records plays no part.)
	IsolationCheckInterval time.Duration

	// IsolationBackoffMax caps the exponential backoff between failed
	// isolation rejoin attempts, which starts at IsolationCheckInterval.
	IsolationBackoffMax time.Duration

	// JoinFanout is how many join candidates are contacted concurrently;
	// Join stops starting new attempts once one has succeeded.
	JoinFanout int

	// JoinSyncDelay is how long after a successful Join this member pushes
	// and pulls state again with one random alive member, so that members
	// that joined at the same moment learn of each other without waiting
	// for memberlist's periodic push/pull (see settle.go). Later syncs
	// follow at doubling delays while the view keeps growing. 0 disables.
	JoinSyncDelay time.Duration

	// JoinSyncs caps the syncs that follow one Join. 0 disables them.
	JoinSyncs int

	// BroadcastTimeout bounds how long UpdateTags waits for the new tags to
	// be gossiped before it reports a timeout (the tags still spread).
	BroadcastTimeout time.Duration

	// Memberlist is the base memberlist tuning (timers, multipliers). Its
	// Name, addresses, Label, SecretKey/Keyring, Transport, Delegate,
	// Events, Ping, LogOutput and Logger are replaced by the fields above;
	// it is copied, never modified.
	Memberlist *memberlist.Config

	// Transport is the memberlist transport. nil means memberlist's own
	// UDP/TCP NetTransport on BindAddr:BindPort; the benchmark harness
	// plugs an in-memory one here. Either way it is wrapped so that
	// Shutdown can abort outbound streams, and Shutdown shuts it down.
	Transport memberlist.NodeAwareTransport

	// Clock supplies time for the view (Since, reaping) and the healing
	// timers. nil means the real clock.
	Clock clockwork.Clock

	// Logger receives this package's logs and memberlist's (levels
	// inferred from memberlist's "[DEBUG]"-style prefixes). nil discards.
	Logger hclog.Logger

	// Discover returns join candidates ("ip:port") when this member is
	// isolated, normally by re-listing the S3 registry. nil disables
	// isolation rejoin.
	Discover func(ctx context.Context) ([]string, error)
}

// DefaultLANConfig returns settings for agents on EC2 instances in one
// region (one VPC, possibly several AZs). Name must still be set.
func DefaultLANConfig() *Config {
	ml := memberlist.DefaultLANConfig()
	// EC2 RTT is about 0.1 ms inside an AZ and 1-2 ms across AZs, but
	// burstable instances out of CPU credits and noisy neighbours add
	// pauses of tens of ms. A 500 ms probe interval with a 250 ms timeout
	// still leaves 100x headroom over RTT, and halves the time until a
	// crashed instance is first probed.
	ml.ProbeInterval = 500 * time.Millisecond
	ml.ProbeTimeout = 250 * time.Millisecond
	// Detection = time to the first probe + one probe round + the
	// suspicion timeout + gossip of the verdict, and the target (p50 <= 6 s
	// at N=1000) is for all of it. The suspicion timeout is SuspicionMult *
	// log10(N) * ProbeInterval once SuspicionMult-2 other members confirm
	// (Lifeguard): 4.5 s at N=1000 with 3 (stock LAN: 12 s). At 4 it alone
	// was 6 s, and the benchmark's model put detection at 7.2 s. Without a
	// confirmation a suspicion waits SuspicionMaxTimeoutMult times as long
	// (27 s at N=1000), so a lone confused prober cannot kill a node, and a
	// node stalled for 2 s has over a second to refute. IndirectChecks (3)
	// and the TCP fallback ping keep single lost UDP packets from causing
	// suspicion at all.
	ml.SuspicionMult = 3
	ml.SuspicionMaxTimeoutMult = 6
	// Gossip drains the broadcast queue every GossipInterval to
	// GossipNodes members and sends nothing when it is empty. A rumour
	// reaches about (1+GossipNodes)^r members in r rounds, so 8 members
	// every 200 ms spread a verdict to 1,000 members in about 0.8 s, as fast
	// as 3 every 100 ms (stock LAN: 3 every 200 ms, 1.5 s), and in the same
	// number of packets: each member still sends a rumour at most
	// RetransmitMult * log10(N) times. What the longer interval saves is
	// the wake-ups of an idle agent: memberlist runs the gossip round on
	// its ticker whether or not there is anything to say, and those rounds
	// were a third of an idle agent's CPU.
	ml.GossipInterval = 200 * time.Millisecond
	ml.GossipNodes = 8
	// A terminated instance's IP does not answer at all inside a VPC
	// (security groups drop, no RST), so each stale join candidate costs a
	// full TCPTimeout; 5 s is still ample for a push/pull of 1,000 members
	// (about 100 KB) between instances.
	ml.TCPTimeout = 5 * time.Second
	// Cold starts of a whole fleet arrive as a burst of alive messages;
	// a deeper handoff queue drops fewer of them. It costs only pointers.
	ml.HandoffQueueDepth = 4096
	// No compression. memberlist compresses each packet after filling it
	// to UDPBufferSize, so it never fits more gossip in a packet; it only
	// saves VPC bandwidth, which is plentiful, and costs CPU and garbage,
	// which are not: LZW allocates a 32 KiB table for every ping and ack.
	// Receivers accept both forms, so a mixed cluster works.
	ml.EnableCompression = false
	// UDPBufferSize stays at 1400: VPC supports jumbo frames, but peering,
	// transit gateways and VPNs cap the MTU at 1500 or less.
	return &Config{
		BindAddr: "0.0.0.0",
		BindPort: 7946,
		Cluster:  "default",
		// A day, as Serf keeps failed members: long enough for operators
		// and the coordinator to see what died overnight.
		ReapTime: 24 * time.Hour,
		// Serf's values. With the dead/alive probability rule (heal.go)
		// the whole cluster makes about one attempt per dead member per
		// interval, a SYN to an address that usually does not answer.
		ReconnectInterval: 30 * time.Second,
		ReconnectTimeout:  24 * time.Hour,
		// The check itself is free; only an isolated member lists S3, and
		// its backoff caps a lone member at one List per 10 minutes.
		IsolationCheckInterval: 15 * time.Second,
		IsolationBackoffMax:    10 * time.Minute,
		// Three concurrent candidates: a cold fleet's registry has many
		// stale records, and one answer is enough to get the full view.
		JoinFanout: 3,
		// A rumour reaches 1,000 members in about 0.7 s at these timers;
		// a second later most of the cluster knows every member that joined
		// alongside this one. Syncs at 1, 3 and 7 s cover a cold start.
		JoinSyncDelay:    time.Second,
		JoinSyncs:        3,
		BroadcastTimeout: 5 * time.Second,
		Memberlist:       ml,
	}
}

// DefaultLocalConfig returns fast timers for tests and testbeds on
// loopback addresses. Name and BindAddr must still be set.
func DefaultLocalConfig() *Config {
	c := DefaultLANConfig()
	ml := memberlist.DefaultLocalConfig()
	ml.ProbeInterval = 200 * time.Millisecond
	ml.ProbeTimeout = 100 * time.Millisecond
	ml.SuspicionMult = 4
	ml.SuspicionMaxTimeoutMult = 4
	ml.GossipInterval = 50 * time.Millisecond
	ml.PushPullInterval = 2 * time.Second
	ml.TCPTimeout = time.Second
	ml.GossipToTheDeadTime = 2 * time.Second
	c.Memberlist = ml
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.ReapTime = time.Minute
	c.ReconnectInterval = 500 * time.Millisecond
	c.ReconnectTimeout = time.Minute
	c.IsolationCheckInterval = 500 * time.Millisecond
	c.IsolationBackoffMax = 4 * time.Second
	c.BroadcastTimeout = 2 * time.Second
	c.JoinSyncDelay = 500 * time.Millisecond
	return c
}

// Validate reports the first invalid field, by name.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("membership: Config.Name is empty: set it to the instance id")
	case net.ParseIP(c.BindAddr) == nil:
		return fmt.Errorf("membership: Config.BindAddr %q is not an IP address", c.BindAddr)
	case c.BindPort < 0 || c.BindPort > 65535:
		return fmt.Errorf("membership: Config.BindPort %d is out of range 0-65535", c.BindPort)
	case c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil:
		return fmt.Errorf("membership: Config.AdvertiseAddr %q is not an IP address", c.AdvertiseAddr)
	case c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return fmt.Errorf("membership: Config.AdvertisePort %d is out of range 0-65535", c.AdvertisePort)
	case c.Cluster == "":
		return fmt.Errorf("membership: Config.Cluster is empty: set the cluster name so clusters cannot merge")
	case len(c.Cluster) > memberlist.LabelMaxSize:
		return fmt.Errorf("membership: Config.Cluster is %d bytes, over memberlist's label limit of %d", len(c.Cluster), memberlist.LabelMaxSize)
	case c.ReapTime <= 0:
		return fmt.Errorf("membership: Config.ReapTime is %s: set a positive duration", c.ReapTime)
	case c.ReconnectInterval < 0:
		return fmt.Errorf("membership: Config.ReconnectInterval is %s: set a positive duration, or 0 to disable", c.ReconnectInterval)
	case c.ReconnectInterval > 0 && c.ReconnectTimeout <= 0:
		return fmt.Errorf("membership: Config.ReconnectTimeout is %s: set a positive duration", c.ReconnectTimeout)
	case c.IsolationCheckInterval < 0:
		return fmt.Errorf("membership: Config.IsolationCheckInterval is %s: set a positive duration, or 0 to disable", c.IsolationCheckInterval)
	case c.IsolationCheckInterval > 0 && c.IsolationBackoffMax < c.IsolationCheckInterval:
		return fmt.Errorf("membership: Config.IsolationBackoffMax %s is below IsolationCheckInterval %s", c.IsolationBackoffMax, c.IsolationCheckInterval)
	case c.JoinFanout < 1:
		return fmt.Errorf("membership: Config.JoinFanout is %d: set at least 1", c.JoinFanout)
	case c.JoinSyncDelay < 0:
		return fmt.Errorf("membership: Config.JoinSyncDelay is %s: set a positive duration, or 0 to disable", c.JoinSyncDelay)
	case c.JoinSyncs < 0:
		return fmt.Errorf("membership: Config.JoinSyncs is %d: set 0 or more", c.JoinSyncs)
	case c.BroadcastTimeout <= 0:
		return fmt.Errorf("membership: Config.BroadcastTimeout is %s: set a positive duration", c.BroadcastTimeout)
	case c.Memberlist == nil:
		return fmt.Errorf("membership: Config.Memberlist is nil: start from DefaultLANConfig()")
	}
	if err := validateKeys(c.Keys); err != nil {
		return fmt.Errorf("membership: Config.Keys: %w", err)
	}
	if _, err := EncodeTags(c.Tags); err != nil {
		return fmt.Errorf("membership: Config.Tags: %w", err)
	}
	return nil
}
