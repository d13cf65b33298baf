package localapi

import (
	"context"

	"github.com/farmhand/farmhand/membership"
)

// Backend is what the agent provides to the local API. Every method must
// honour ctx: it is cancelled when the caller goes away or the server stops.
//
// Optional features (render, coordinator, ...) are separate interfaces the
// backend may also implement; handlers find them with backendAs, and
// answer 501 when the backend lacks them.
type Backend interface {
	// Status describes this node.
	Status(ctx context.Context) (Status, error)
	// Members returns the whole member view; the server filters and sorts it.
	Members(ctx context.Context) ([]membership.Member, error)
	// Leave leaves the cluster gracefully. It must return once the leave is
	// done and must not wait for the local API to shut down (the response
	// still has to be written); the agent exits afterwards.
	Leave(ctx context.Context) error
	// Reload rereads the configuration and applies it, like SIGHUP, or
	// refuses it whole; the answer says which fields were applied.
	Reload(ctx context.Context) (ReloadResponse, error)
}
