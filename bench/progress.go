package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress draws a one-line progress bar over a series of runs, redrawn in
// place with a carriage return (meant for a terminal's stderr: it never
// writes a newline until Close). A nil *Progress draws nothing. Run calls
// it from one goroutine at a time.
type Progress struct {
	w     io.Writer
	total int
	start time.Time
	mu    sync.Mutex // serializes drawing
	runs  int        // runs finished
	width int        // length of the last line drawn
}

// NewProgress returns a bar over runs runs, drawn on w.
func NewProgress(w io.Writer, runs int) *Progress {
	return &Progress{w: w, total: max(runs, 1), start: time.Now()}
}

// run draws the bar every 200 ms while one run of duration d (or ops
// operations) goes on, done counting its operations; the function it
// returns stops drawing and counts the run as finished.
func (p *Progress) run(label string, d time.Duration, ops int64, done *atomic.Int64) func() {
	if p == nil {
		return func() {}
	}
	start := time.Now()
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			el := time.Since(start)
			frac := float64(el) / float64(d)
			if ops > 0 {
				frac = max(frac, float64(done.Load())/float64(ops))
			}
			rate := float64(done.Load()) / max(el.Seconds(), 1e-3)
			p.draw(min(frac, 1), fmt.Sprintf("%s  %s ops/s", label, human(rate)))
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
		p.mu.Lock()
		p.runs++
		p.mu.Unlock()
	}
}

func (p *Progress) draw(frac float64, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	overall := (float64(p.runs) + frac) / float64(p.total)
	const barWidth = 24
	n := int(overall * barWidth)
	eta := ""
	if el := time.Since(p.start); overall > 0.01 {
		eta = fmt.Sprintf("  ETA %v", (time.Duration(float64(el)/overall) - el).Round(time.Second))
	}
	line := fmt.Sprintf("[%s%s] %d/%d %s%s", strings.Repeat("#", n), strings.Repeat(".", barWidth-n), p.runs+1, p.total, text, eta)
	pad := max(p.width-len(line), 0)
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// Close erases the bar.
func (p *Progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
}

// human renders a rate with a k or M suffix.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
