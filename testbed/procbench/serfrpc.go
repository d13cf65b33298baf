package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// serfRPC is the two calls of Serf's agent RPC protocol the benchmark
// needs: the handshake and "members". Serf's own client cannot be linked
// here (it needs go-metrics' compat package, which the go-metrics that
// memberlist v0.7 requires no longer has), and the protocol is small: a
// msgpack request header {Command, Seq} and body, answered by a header
// {Seq, Error} and body, over one TCP connection.
type serfRPC struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	enc  *codec.Encoder
	dec  *codec.Decoder
	seq  uint64
}

type serfRequestHeader struct {
	Command string
	Seq     uint64
}

type serfResponseHeader struct {
	Seq   uint64
	Error string
}

type serfMember struct {
	Name   string
	Status string
}

// dialSerfRPC connects and shakes hands.
func dialSerfRPC(addr string, timeout time.Duration) (*serfRPC, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	h := &codec.MsgpackHandle{WriteExt: true}
	c := &serfRPC{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
	c.enc = codec.NewEncoder(c.w, h)
	c.dec = codec.NewDecoder(c.r, h)
	if err := c.call("handshake", &struct{ Version int32 }{Version: 1}, nil, timeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("serf RPC handshake with %s: %w", addr, err)
	}
	return c, nil
}

// call sends one request and decodes its answer into resp (nil: none).
func (c *serfRPC) call(cmd string, req, resp any, timeout time.Duration) error {
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	c.seq++
	if err := c.enc.Encode(&serfRequestHeader{Command: cmd, Seq: c.seq}); err != nil {
		return err
	}
	if req != nil {
		if err := c.enc.Encode(req); err != nil {
			return err
		}
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	var h serfResponseHeader
	if err := c.dec.Decode(&h); err != nil {
		return err
	}
	if h.Seq != c.seq {
		return fmt.Errorf("serf RPC: answer %d to request %d", h.Seq, c.seq)
	}
	if h.Error != "" {
		return errors.New(h.Error)
	}
	if resp != nil {
		return c.dec.Decode(resp)
	}
	return nil
}

// members returns every member the agent knows, by name, with its status
// (alive, leaving, left, failed).
func (c *serfRPC) members(timeout time.Duration) ([]serfMember, error) {
	var resp struct{ Members []serfMember }
	if err := c.call("members", nil, &resp, timeout); err != nil {
		return nil, err
	}
	return resp.Members, nil
}

func (c *serfRPC) close() error { return c.conn.Close() }
