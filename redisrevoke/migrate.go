package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// layoutVersion names the layout of scripts.go in the key PREFIX layout.
const layoutVersion = "2"

// nanosecondCutoffs: a subject's cut-off above this was written in Unix
// nanoseconds by an earlier version (today's, in microseconds, stay below
// it until the year 5138).
const nanosecondCutoffs = 1e17

// migrate moves the revocations an earlier version wrote (a key per token,
// tok:<len>:<issuer> <jti>, and a subject's cut-off in nanoseconds) into
// this layout, once per Redis: the key PREFIX layout records that it is
// done. Without it, a fleet upgraded in place would forget every
// revocation made before, and read an old cut-off as one far in the
// future. It reads the keyspace with SCAN, once; two instances that
// migrate at once do the same work twice, to no harm.
func (s *Store) migrate(ctx context.Context) error {
	done, err := s.client.Get(ctx, s.prefix+"layout").Result()
	switch {
	case err == nil && done == layoutVersion:
		return nil
	case err != nil && !errors.Is(err, redis.Nil):
		return fmt.Errorf("reading the layout's version: %w", err)
	}
	for _, kind := range []string{"tok", "sub"} {
		iter := s.client.Scan(ctx, 0, s.prefix+kind+":*", 1000).Iterator()
		var page []string
		flush := func() error {
			err := s.migratePage(ctx, kind, page)
			page = page[:0]
			return err
		}
		for iter.Next(ctx) {
			if page = append(page, iter.Val()); len(page) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("migrating the revocations of an earlier version: %w", err)
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return s.client.Set(ctx, s.prefix+"layout", layoutVersion, 0).Err()
}

// migratePage moves one page of old keys of a kind: a token's into its
// bucket (its subject unknown), a subject's cut-off into microseconds and
// the hash of subjects.
func (s *Store) migratePage(ctx context.Context, kind string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	reads, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.PTTL(ctx, k)
			p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("migrating the revocations of an earlier version: %w", err)
	}
	now := time.Now()
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			ttl, value := reads[2*i].(*redis.DurationCmd).Val(), reads[2*i+1].(*redis.StringCmd).Val()
			issuer, name, ok := oldKey(strings.TrimPrefix(k, s.prefix+kind+":"))
			if !ok || ttl <= 0 {
				continue
			}
			until := now.Add(ttl).UnixMilli()
			if kind == "tok" {
				n, end := bucketOf(until)
				member := strconv.FormatInt(until, 10) + " " + field(issuer) + field(name)
				p.SAdd(ctx, bucketKey(s.prefix, n), member)
				p.PExpire(ctx, bucketKey(s.prefix, n), max(time.UnixMilli(end).Sub(now), ttl))
				p.ZAdd(ctx, s.prefix+"buckets", redis.Z{Score: float64(n), Member: strconv.FormatInt(n, 10)})
				p.Del(ctx, k)
				continue
			}
			cutoff, err := strconv.ParseInt(value, 10, 64)
			if err != nil || cutoff <= nanosecondCutoffs {
				continue // not an earlier version's
			}
			us := strconv.FormatInt(cutoff/1000, 10)
			p.SetArgs(ctx, k, us, redis.SetArgs{KeepTTL: true})
			p.HSet(ctx, s.prefix+"subjects", field(issuer)+" "+name, us+" "+strconv.FormatInt(until, 10))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrating the revocations of an earlier version: %w", err)
	}
	return nil
}

// field writes a name as revokeScript does: its length, a colon, its bytes.
func field(s string) string { return strconv.Itoa(len(s)) + ":" + s }

// oldKey reads "<len>:<issuer> <name>", the rest of an earlier version's key.
func oldKey(rest string) (issuer, name string, ok bool) {
	n, rest, ok := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || len(rest) < size+1 || rest[size] != ' ' {
		return "", "", false
	}
	return rest[:size], rest[size+1:], true
}
