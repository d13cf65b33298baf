package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// benchBucket is the bucket the embedded S3 serves the registry from.
const benchBucket = "farmhand-bench"

// s3Counter counts the requests the embedded S3 served, by kind, as S3
// would bill them.
type s3Counter struct {
	put, get, list, del, other atomic.Int64
}

// s3Counts is a snapshot of an s3Counter.
type s3Counts struct {
	Put, Get, List, Delete, Other int64
}

// Total is every request.
func (c s3Counts) Total() int64 { return c.Put + c.Get + c.List + c.Delete + c.Other }

// sub returns c-o.
func (c s3Counts) sub(o s3Counts) s3Counts {
	return s3Counts{c.Put - o.Put, c.Get - o.Get, c.List - o.List, c.Delete - o.Delete, c.Other - o.Other}
}

// snapshot reads the counters.
func (c *s3Counter) snapshot() s3Counts {
	return s3Counts{c.put.Load(), c.get.Load(), c.list.Load(), c.del.Load(), c.other.Load()}
}

// count classifies one request: path-style "/bucket" is the bucket (GET =
// list), "/bucket/key" an object.
func (c *s3Counter) count(r *http.Request) {
	isObject := strings.Contains(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPut || r.Method == http.MethodPost:
		c.put.Add(1)
	case r.Method == http.MethodGet && isObject:
		c.get.Add(1)
	case r.Method == http.MethodGet:
		c.list.Add(1)
	case r.Method == http.MethodDelete:
		c.del.Add(1)
	default:
		c.other.Add(1)
	}
}

// embeddedS3 is gofakes3 on 127.0.0.1 behind a request counter.
type embeddedS3 struct {
	URL     string
	counter s3Counter
	srv     *http.Server
	done    chan struct{}
}

// startS3 serves an in-memory S3 with benchBucket on a loopback port.
func startS3() (*embeddedS3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(benchBucket); err != nil {
		return nil, fmt.Errorf("embedded S3: create bucket %s: %w", benchBucket, err)
	}
	fake := gofakes3.New(backend)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded S3: listen on 127.0.0.1: %w", err)
	}
	e := &embeddedS3{URL: "http://" + ln.Addr().String(), done: make(chan struct{})}
	h := fake.Server()
	e.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.counter.count(r)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(e.done)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("embedded S3 stopped: %v\n", err)
		}
	}()
	return e, nil
}

// client returns an aws-sdk-go-v2 S3 client for the embedded server.
func (e *embeddedS3) client(ctx context.Context, hc *http.Client) (*s3.Client, error) {
	return bootstrap.NewS3Client(ctx, bootstrap.S3Config{
		Region:      "us-east-1",
		Endpoint:    e.URL,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		HTTPClient:  hc,
	})
}

// Close stops the server and waits for it.
func (e *embeddedS3) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	<-e.done
	return err
}
