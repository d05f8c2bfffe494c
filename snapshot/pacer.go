package snapshot

import "time"

// pacer spreads a snapshot's bytes over time, so that writing one takes
// the disk and a CPU from the engine's log a little at a time rather than
// in bursts (see writer). After each step of n bytes it sleeps until those
// bytes are due at rate, counting from when the snapshot started.
//
// A writer that falls behind — the disk was slow to take a writeback
// step, the kernel ran other threads first, a sleep overshot — may not
// catch up in one burst: it banks at most burst of lost time, so at most
// rate×burst bytes go out back to back. Without that cap, a 100 ms stall
// would be followed by 6.4 MB at full speed, the very burst pacing is
// there to avoid. The cost is that a writer that keeps being delayed
// writes below rate: the snapshot then takes longer; it never hurries.
type pacer struct {
	rate  float64       // bytes per second; ≤ 0: no pacing
	burst time.Duration // most lost time a writer may make up at full speed
	now   func() time.Time
	sleep func(time.Duration)
	base  time.Time // the bytes since base are due at base + bytes/rate
	bytes int64
}

// paceBurst is the pacer's burst: four 64 KiB steps at the default
// 64 MiB/s. It absorbs a sleep's usual overshoot (on Linux a sleep shorter
// than a millisecond takes about 1.1 ms when the process is idle), but not
// a real stall.
const paceBurst = 4 * time.Millisecond

func newPacer(bytesPerSecond int64) *pacer {
	p := &pacer{rate: float64(bytesPerSecond), burst: paceBurst, now: time.Now, sleep: time.Sleep}
	p.start()
	return p
}

// start restarts the pacing from now.
func (p *pacer) start() { p.base, p.bytes = p.now(), 0 }

// step accounts for n more bytes written and sleeps until they are due.
func (p *pacer) step(n int) {
	if p.rate <= 0 {
		return
	}
	now := p.now()
	if floor := now.Add(-p.burst); p.due().Before(floor) {
		p.base, p.bytes = floor, 0 // behind by more than burst: forget the rest
	}
	p.bytes += int64(n)
	if d := p.due().Sub(now); d > 0 {
		p.sleep(d)
	}
}

// due returns when the bytes paced so far are due.
func (p *pacer) due() time.Time {
	return p.base.Add(time.Duration(float64(p.bytes) / p.rate * float64(time.Second)))
}
