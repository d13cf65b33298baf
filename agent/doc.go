// Package agent is the farmhand daemon: it wires identity, registry,
// membership, the local API, renderers and the coordinator together and owns
// their lifecycle (start, ready, reload, graceful leave, shutdown).
package agent
