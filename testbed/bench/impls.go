package main

import (
	"context"
	"fmt"
	"strings"
)

// implMakers build each implementation for one cluster run whose timers
// are dilated by k (dilate.go). farmhand's entry lives in node_farmhand.go.
var implMakers = map[string]func(ctx context.Context, k dilation) (impl, error){
	"stock": func(_ context.Context, k dilation) (impl, error) { return stockImpl{k: k}, nil },
}

// implOrder is the column order of the report.
var implOrder = []string{"farmhand", "stock"}

// selectImpls parses -impl ("all" or a comma list) into known names.
func selectImpls(flag string) ([]string, error) {
	if flag == "" || flag == "all" {
		var out []string
		for _, n := range implOrder {
			if _, ok := implMakers[n]; ok {
				out = append(out, n)
			}
		}
		return out, nil
	}
	var out []string
	for _, n := range strings.Split(flag, ",") {
		n = strings.TrimSpace(n)
		if _, ok := implMakers[n]; !ok {
			return nil, fmt.Errorf("unknown -impl %q: available are %s", n, strings.Join(available(), ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// available lists the implementations built into this binary.
func available() []string {
	var out []string
	for _, n := range implOrder {
		if _, ok := implMakers[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
