package acl

import (
	"unicode/utf16"

	"github.com/zkembed/zkembed/znode"
)

// javaSetOrder returns ids, given in insertion order, in the order
// ZooKeeper iterates a connection's auth ids: they live in
// Collections.newSetFromMap(new ConcurrentHashMap<>()), so getAuthInfo,
// the "auth" ACL expansion and whoAmI all follow that hash table's
// iteration order. This replays the inserts into a model of Java 17's
// ConcurrentHashMap: 16 bins at first, doubling when the count reaches
// three quarters of them, each resize splitting a bin as transfer() does.
// (Bins never become trees here: that takes 8 ids in one bin and 64 bins.)
func javaSetOrder(ids []znode.ID) []znode.ID {
	type node struct {
		hash int32
		id   znode.ID
	}
	table := make([][]node, 16)
	count := 0
	for _, id := range ids {
		h := idHash(id)
		bin := &table[int(h)&(len(table)-1)]
		*bin = append(*bin, node{h, id}) // callers pass no duplicates
		count++
		if count < len(table)-len(table)/4 {
			continue
		}
		n := len(table)
		next := make([][]node, 2*n)
		for i, b := range table {
			if len(b) == 0 {
				continue
			}
			// transfer(): the longest tail whose nodes all go the same way
			// keeps its order; the nodes before it are pushed in front of
			// their list one by one, so they come out reversed.
			last := len(b) - 1
			for last > 0 && int(b[last-1].hash)&n == int(b[last].hash)&n {
				last--
			}
			var lo, hi []node
			if int(b[last].hash)&n == 0 {
				lo = append(lo, b[last:]...)
			} else {
				hi = append(hi, b[last:]...)
			}
			for _, p := range b[:last] {
				if int(p.hash)&n == 0 {
					lo = append([]node{p}, lo...)
				} else {
					hi = append([]node{p}, hi...)
				}
			}
			next[i], next[i+n] = lo, hi
		}
		table = next
	}
	out := make([]znode.ID, 0, len(ids))
	for _, b := range table {
		for _, p := range b {
			out = append(out, p.id)
		}
	}
	return out
}

// idHash is ConcurrentHashMap.spread(id.hashCode()) for ZooKeeper's jute
// Id record, whose hashCode is 37*(37*17 + scheme.hashCode()) +
// id.hashCode().
func idHash(id znode.ID) int32 {
	h := 37*(37*17+javaHash(id.Scheme)) + javaHash(id.ID)
	return (h ^ int32(uint32(h)>>16)) & 0x7fffffff
}

// javaHash is Java's String.hashCode over the string's UTF-16 code units.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + r1
			h = 31*h + r2
			continue
		}
		h = 31*h + r
	}
	return h
}
