package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonResult is a Result as one line of -json output. The first seven
// fields are the issue's; the others may be added to, never renamed.
type jsonResult struct {
	Target    string   `json:"target"`
	Workload  string   `json:"workload"`
	Clients   int      `json:"clients"`
	OpsPerSec float64  `json:"ops_per_sec"`
	P50us     float64  `json:"p50_us"`
	P99us     float64  `json:"p99_us"`
	P999us    float64  `json:"p999_us"`
	ReadRatio *float64 `json:"read_ratio,omitempty"` // mixed only
	MaxUs     float64  `json:"max_us"`
	Ops       int64    `json:"ops"`
	Errors    int64    `json:"errors"`
	Seconds   float64  `json:"seconds"`
	Ratio     float64  `json:"ratio,omitempty"`    // ops_per_sec ÷ the peer's, with a peer
	RatioTo   string   `json:"ratio_to,omitempty"` // the peer
	// RoundOpsPerSec is each round's ops/s, measured in rounds only.
	RoundOpsPerSec []float64 `json:"round_ops_per_sec,omitempty"`
}

// MarshalJSON renders the result as WriteJSON does, without a ratio.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.jsonResult(0, "")) }

func (r Result) jsonResult(ratio float64, peer string) jsonResult {
	j := jsonResult{
		Target: r.Target, Workload: r.Workload, Clients: r.Clients,
		OpsPerSec: round(r.OpsPerSec, 1), P50us: round(r.P50us, 3), P99us: round(r.P99us, 3), P999us: round(r.P999us, 3),
		MaxUs: round(r.MaxUs, 3), Ops: r.Ops, Errors: r.Errors, Seconds: round(r.Elapsed.Seconds(), 3),
	}
	if r.Workload == WorkMixed {
		rr := r.ReadRatio
		j.ReadRatio = &rr
	}
	if ratio > 0 {
		j.Ratio, j.RatioTo = round(ratio, 3), peer
	}
	for _, v := range r.RoundOpsPerSec {
		j.RoundOpsPerSec = append(j.RoundOpsPerSec, round(v, 1))
	}
	return j
}

func round(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return f
}

// WriteJSON writes one JSON object per result and line: target, workload,
// clients, ops_per_sec, p50_us, p99_us, p999_us, then read_ratio (mixed
// only), max_us, ops, errors, seconds, with a peer (non-empty) ratio and
// ratio_to, and for a result measured in rounds round_ops_per_sec.
func WriteJSON(w io.Writer, results []Result, peer string) error {
	ratios := Ratios(results, peer)
	enc := json.NewEncoder(w)
	for i, r := range results {
		if err := enc.Encode(r.jsonResult(ratios[i], peer)); err != nil {
			return err
		}
	}
	return nil
}

// CSVHeader is the header row WriteCSV writes.
var CSVHeader = []string{"target", "workload", "read_ratio", "clients", "ops_per_sec", "p50_us", "p99_us", "p999_us", "max_us", "ops", "errors", "seconds", "ratio"}

// WriteCSV writes a header row and one row per result; read_ratio is
// empty but for mixed, ratio empty without a peer's result.
func WriteCSV(w io.Writer, results []Result, peer string) error {
	ratios := Ratios(results, peer)
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64, d int) string { return strconv.FormatFloat(v, 'f', d, 64) }
	for i, r := range results {
		rr, ratio := "", ""
		if r.Workload == WorkMixed {
			rr = f(r.ReadRatio, 2)
		}
		if ratios[i] > 0 {
			ratio = f(ratios[i], 3)
		}
		if err := cw.Write([]string{r.Target, r.Workload, rr, strconv.Itoa(r.Clients),
			f(r.OpsPerSec, 1), f(r.P50us, 3), f(r.P99us, 3), f(r.P999us, 3), f(r.MaxUs, 3),
			strconv.FormatInt(r.Ops, 10), strconv.FormatInt(r.Errors, 10), f(r.Elapsed.Seconds(), 3), ratio}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the results as an aligned table; with peers (empty
// names are ignored), a column per peer gives each result's ops/s as a
// multiple of that peer's in the same run.
func WriteTable(w io.Writer, results []Result, peers ...string) error {
	peers = slices.DeleteFunc(slices.Clone(peers), func(p string) bool { return p == "" })
	ratios := make([][]float64, len(peers))
	rounds := make([][][]float64, len(peers))
	rows := [][]string{{"workload", "clients", "target", "ops/s", "p50 µs", "p99 µs", "p999 µs", "errors"}}
	for i, p := range peers {
		ratios[i], rounds[i] = Ratios(results, p), RoundRatios(results, p)
		rows[0] = append(rows[0], "× "+p)
	}
	for i, r := range results {
		row := []string{r.Label(), strconv.Itoa(r.Clients), r.Target,
			human(r.OpsPerSec), us(r.P50us), us(r.P99us), us(r.P999us), strconv.FormatInt(r.Errors, 10)}
		for j := range peers {
			ratio := "-"
			if ratios[j][i] > 0 {
				ratio = fmt.Sprintf("%.2fx", ratios[j][i])
			}
			if rs := rounds[j][i]; rs != nil && r.Target != peers[j] {
				ratio += " (rounds" // each round's ratio beside the whole's
				for _, v := range rs {
					ratio += fmt.Sprintf(" %.2f", v)
				}
				ratio += ")"
			}
			row = append(row, ratio)
		}
		rows = append(rows, row)
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i == 0 || i == 2 { // text columns: left-aligned
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// us renders microseconds with three significant digits.
func us(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
