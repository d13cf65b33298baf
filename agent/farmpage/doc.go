// Package farmpage renders the agent's read-only farm page: the members by
// role and AZ, the coordinator and its decisions, and the agent's own
// health, as one self-refreshing HTML page with no script and nothing
// loaded from the network.
package farmpage
