package redisrevoke

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The revocations in Redis, under Options.Prefix, laid out so that an
// instance reloads them in a few round trips and with little work for
// Redis (a SCAN of the keyspace costs Redis about 2 µs a key, and made a
// million revocations a 10-second reload):
//
//	buckets               a sorted set of the buckets that exist, by number
//	tok@<n>               bucket n: a set of the token revocations whose expiry falls in
//	                      minute n (Unix milliseconds / 60,000), each as "<until> <issuer><id><subject>"
//	                      (names as <len>:<bytes>); it expires at the end of that minute
//	subjects              a hash of the subjects' revocations: field "<len>:<issuer> <subject>",
//	                      value "<cut-off> <until>" (Unix microseconds and milliseconds)
//	sub:<len>:<issuer> <subject>   a subject's cut-off, expiring with its revocation: the truth
//	                      the script moves and SubjectGeneration reads
//	cnt:<len>:<issuer> <subject>   how many token revocations the subject holds
//	used:<len>:<issuer> <jti>      the use of a one-time token
//	layout                "2": the revocations of an earlier version are moved (migrate.go)
//
// Every expiry is relative (PX, PEXPIRE): the time left by the clock of
// the application that wrote it, so that a Redis whose clock disagrees
// keeps it as long; a key's TTL is never shortened. What has no TTL of its
// own, a bucket's place in "buckets" and a subject's field in "subjects",
// is removed once its key has expired, a few at each revocation: never by
// a clock's say.
//
// A revocation is decided by one script: it stores the revocation,
// counts a token's against its subject (revoking the subject instead past
// Options.MaxPerSubject), moves a subject's cut-off past the one in force,
// and publishes what it decided on the channel, all atomically, so that
// no instance can miss a revocation Redis holds without also missing its
// publication, which the reload after every (re)subscription makes good.

// bucketOf is the bucket of a revocation that expires at until (Unix
// milliseconds), and the end of its minute.
func bucketOf(until int64) (n, end int64) {
	n = until / 60_000
	return n, (n + 1) * 60_000
}

func bucketKey(prefix string, n int64) string { return prefix + "tok@" + strconv.FormatInt(n, 10) }

// revokeScript decides one revocation.
//
// KEYS: the buckets' set, the token's bucket, the subjects' hash, the
// subject's revocation key and count key. ARGV: the token's id ("" for a
// subject's revocation), its issuer, its subject, its expiry (Unix
// milliseconds), its TTL and its bucket's (milliseconds, by the
// application's clock), the bucket's number, MaxPerSubject, the cut-off
// (Unix microseconds: the subject's, or the one a token's revocation takes
// if it becomes the subject's), the channel, and the prefix, for the keys
// of cleaned-up entries. It returns the message it published.
//
// A message is "t" (a token) or "s" (a subject), then the issuer, the id
// and the subject, each as its length, a colon and its bytes (names need
// no escaping then, whatever bytes they hold), then the cut-off and the
// expiry, each after a space.
var revokeScript = redis.NewScript(`
local buckets, bucket, subjects, subKey, countKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, iss, sub, untilMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, bucketTTL, n, maxPer, cutoff = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), ARGV[9]
local channel, prefix = ARGV[10], ARGV[11]

local function keepLonger(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function field(s) return string.len(s) .. ':' .. s end
local function publish(kind, tokenID, cut, untilText)
  local msg = kind .. field(iss) .. field(tokenID) .. field(sub) .. ' ' .. cut .. ' ' .. untilText
  redis.call('PUBLISH', channel, msg)
  return msg
end

-- What no longer has a key goes: the oldest buckets, a few subjects.
for _ = 1, 2 do
  local oldest = redis.call('ZRANGE', buckets, 0, 0)[1]
  if not oldest or redis.call('EXISTS', prefix .. 'tok@' .. oldest) == 1 then break end
  redis.call('ZREM', buckets, oldest)
end
if redis.call('EXISTS', subjects) == 1 then
  local cursor = redis.call('GET', prefix .. 'subjects-cursor') or '0'
  local scan = redis.call('HSCAN', subjects, cursor, 'COUNT', 8)
  if scan[1] ~= cursor then redis.call('SET', prefix .. 'subjects-cursor', scan[1]) end
  for i = 1, #scan[2], 2 do
    if redis.call('EXISTS', prefix .. 'sub:' .. scan[2][i]) == 0 then redis.call('HDEL', subjects, scan[2][i]) end
  end
end

local function revokeSubject()
  local cur = tonumber(redis.call('GET', subKey) or '0')
  local cut = tonumber(cutoff)
  if cut <= cur then cut = cur + 1 end
  local cutText = string.format('%.0f', cut)
  redis.call('SET', subKey, cutText, 'KEEPTTL')
  keepLonger(subKey, ttl)
  local f = field(iss) .. ' ' .. sub
  local old = redis.call('HGET', subjects, f)
  local untilText = untilMs
  if old then
    local oldUntil = string.match(old, ' (%d+)$')
    if oldUntil and tonumber(oldUntil) > tonumber(untilMs) then untilText = oldUntil end
  end
  redis.call('HSET', subjects, f, cutText .. ' ' .. untilText)
  return publish('s', '', cutText, untilText)
end

if id == '' then return revokeSubject() end
local member = untilMs .. ' ' .. field(iss) .. field(id) .. sub
if redis.call('SISMEMBER', bucket, member) == 0 and sub ~= '' then
  local count = redis.call('INCR', countKey)
  keepLonger(countKey, ttl)
  if count > maxPer then return revokeSubject() end
end
redis.call('SADD', bucket, member)
keepLonger(bucket, bucketTTL)
redis.call('ZADD', buckets, n, n)
return publish('t', id, cutoff, untilMs)
`)
