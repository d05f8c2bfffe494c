package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrNothingToChart is returned by WriteChart when the results hold no
// sweep: neither the mixed workload at two read ratios or more, nor a
// workload at two client counts or more.
var ErrNothingToChart = errors.New("bench: nothing to chart: run a read-ratio or sessions sweep")

// series is one polyline: a target's ops/s over x.
type series struct {
	name string
	x, y []float64
}

// panel is one chart of the SVG.
type panel struct {
	title, xLabel string
	xLog2         bool // x on a log2 scale (client counts)
	series        []series
}

// chartPalette is the series colours, distinct also in grey.
var chartPalette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// WriteChart writes an SVG of throughput against read ratio (from mixed
// results at two read ratios or more) and against client sessions (from a
// workload measured at two client counts or more), one panel each, one
// polyline per target (per target and client count, or target and
// workload, when the results hold several). The y axis is logarithmic
// when the values span more than a factor of 20.
func WriteChart(w io.Writer, results []Result) error {
	var panels []panel
	if p, ok := readRatioPanel(results); ok {
		panels = append(panels, p)
	}
	if p, ok := sessionsPanel(results); ok {
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return ErrNothingToChart
	}
	const pw, ph = 600, 420
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		pw*len(panels), ph, pw*len(panels), ph)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, p := range panels {
		fmt.Fprintf(&b, `<g transform="translate(%d,0)">`+"\n", i*pw)
		p.render(&b, pw, ph)
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func readRatioPanel(results []Result) (panel, bool) {
	var mixed []Result
	ratios, clients := map[float64]bool{}, map[int]bool{}
	for _, r := range results {
		if r.Workload == WorkMixed {
			mixed = append(mixed, r)
			ratios[r.ReadRatio], clients[r.Clients] = true, true
		}
	}
	if len(ratios) < 2 {
		return panel{}, false
	}
	p := panel{title: "throughput vs read ratio (mixed getData/setData)", xLabel: "reads (%)"}
	if len(clients) == 1 {
		p.title += fmt.Sprintf(", %d clients", mixed[0].Clients)
	}
	p.series = group(mixed, func(r Result) string {
		if len(clients) > 1 {
			return fmt.Sprintf("%s, %d clients", r.Target, r.Clients)
		}
		return r.Target
	}, func(r Result) float64 { return 100 * r.ReadRatio })
	return p, true
}

func sessionsPanel(results []Result) (panel, bool) {
	counts := map[string]map[int]bool{} // workload label -> client counts
	for _, r := range results {
		if counts[r.Label()] == nil {
			counts[r.Label()] = map[int]bool{}
		}
		counts[r.Label()][r.Clients] = true
	}
	var swept []Result
	labels := map[string]bool{}
	for _, r := range results {
		if len(counts[r.Label()]) >= 2 {
			swept = append(swept, r)
			labels[r.Label()] = true
		}
	}
	if len(swept) == 0 {
		return panel{}, false
	}
	p := panel{title: "throughput vs client sessions", xLabel: "client sessions", xLog2: true}
	if len(labels) == 1 {
		p.title += " (" + swept[0].Label() + ")"
	}
	p.series = group(swept, func(r Result) string {
		if len(labels) > 1 {
			return r.Target + " " + r.Label()
		}
		return r.Target
	}, func(r Result) float64 { return float64(r.Clients) })
	return p, true
}

// group makes a series per name, in order of first appearance, points
// sorted by x.
func group(rs []Result, name func(Result) string, x func(Result) float64) []series {
	var out []series
	idx := map[string]int{}
	for _, r := range rs {
		n := name(r)
		i, ok := idx[n]
		if !ok {
			i = len(out)
			idx[n] = i
			out = append(out, series{name: n})
		}
		out[i].x = append(out[i].x, x(r))
		out[i].y = append(out[i].y, r.OpsPerSec)
	}
	for i := range out {
		s := &out[i]
		order := make([]int, len(s.x))
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int {
			if s.x[a] < s.x[b] {
				return -1
			} else if s.x[a] > s.x[b] {
				return 1
			}
			return 0
		})
		x, y := make([]float64, len(order)), make([]float64, len(order))
		for j, o := range order {
			x[j], y[j] = s.x[o], s.y[o]
		}
		s.x, s.y = x, y
	}
	return out
}

// render draws the panel in a pw×ph box: title, axes with ticks and
// grid, one polyline with point markers per series, legend below.
func (p panel) render(b *bytes.Buffer, pw, ph int) {
	legendRows := (len(p.series) + 1) / 2
	left, right, top := 70.0, 20.0, 40.0
	bottom := 60.0 + 18*float64(legendRows)
	x0, x1 := left, float64(pw)-right
	y0, y1 := float64(ph)-bottom, top // y0 is the bottom of the plot area
	fmt.Fprintf(b, `<text x="%d" y="22" text-anchor="middle" font-size="14" font-weight="bold">%s</text>`+"\n", pw/2, esc(p.title))

	// x scale
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		for i := range s.x {
			xmin, xmax = math.Min(xmin, s.x[i]), math.Max(xmax, s.x[i])
			if s.y[i] > 0 {
				ymin, ymax = math.Min(ymin, s.y[i]), math.Max(ymax, s.y[i])
			}
		}
	}
	var xticks []float64
	fx := func(v float64) float64 { return v }
	if p.xLog2 {
		fx = math.Log2
		for v := 1.0; v <= xmax; v *= 2 {
			if v >= xmin {
				xticks = append(xticks, v)
			}
		}
	} else {
		xmin, xmax = 0, 100
		for v := 0.0; v <= 100; v += 10 {
			xticks = append(xticks, v)
		}
	}
	if fx(xmax) == fx(xmin) {
		xmax = xmin * 2
	}
	sx := func(v float64) float64 { return x0 + (fx(v)-fx(xmin))/(fx(xmax)-fx(xmin))*(x1-x0) }

	// y scale: logarithmic over a wide range, else linear from 0
	if math.IsInf(ymax, 0) {
		ymin, ymax = 1, 10
	}
	logY := ymax/ymin > 20
	var yticks []float64
	var fy func(float64) float64
	if logY {
		lo, hi := math.Pow(10, math.Floor(math.Log10(ymin))), math.Pow(10, math.Ceil(math.Log10(ymax)))
		for d := lo; d <= hi*1.001; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if v := d * m; v >= lo && v <= hi*1.001 {
					yticks = append(yticks, v)
				}
			}
		}
		ymin, ymax = lo, hi
		fy = math.Log10
	} else {
		step := niceStep(ymax / 5)
		ymin, ymax = 0, math.Ceil(ymax/step)*step
		for v := 0.0; v <= ymax*1.001; v += step {
			yticks = append(yticks, v)
		}
		fy = func(v float64) float64 { return v }
	}
	sy := func(v float64) float64 {
		return y0 - (fy(math.Max(v, ymin))-fy(ymin))/(fy(ymax)-fy(ymin))*(y0-y1)
	}

	// grid, ticks and labels
	for _, t := range yticks {
		y := sy(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, tickLabel(t))
	}
	for _, t := range xticks {
		x := sx(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x, y0, x, y1)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y0+16, strconv.FormatFloat(t, 'f', -1, 64))
	}
	fmt.Fprintf(b, `<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="black"/>`+"\n", x0, y1, y0, x1)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y0+34, esc(p.xLabel))
	yLabel := "ops/s"
	if logY {
		yLabel += " (log scale)"
	}
	fmt.Fprintf(b, `<text transform="translate(16,%.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (y0+y1)/2, yLabel)

	// series and legend
	for i, s := range p.series {
		color := chartPalette[i%len(chartPalette)]
		pts := make([]string, len(s.x))
		for j := range s.x {
			pts[j] = fmt.Sprintf("%.1f,%.1f", sx(s.x[j]), sy(s.y[j]))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`+"\n", color, strings.Join(pts, " "), esc(s.name))
		for j := range s.x {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", sx(s.x[j]), sy(s.y[j]), color)
		}
		lx := x0 + float64(i%2)*(x1-x0)/2
		ly := y0 + 52 + 18*float64(i/2)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", lx, ly-4, lx+24, ly-4, color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+30, ly, esc(s.name))
	}
}

// tickLabel renders an axis value shortly: 500, 2k, 1.5M.
func tickLabel(v float64) string {
	f := func(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }
	switch {
	case v >= 1e6:
		return f(v/1e6) + "M"
	case v >= 1e3:
		return f(v/1e3) + "k"
	}
	return f(v)
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
