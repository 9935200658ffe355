import assert from 'node:assert/strict';
import { ALLOW_REMOTE_TARGET_ENV, checkTargets, hasRemoteTarget, isLoopbackHost, remoteTargetAllowed, targetWorld } from './target.ts';

// Policy only: nothing here opens a connection (targetWorld builds a description of the cluster, it does not dial it).
describe('--target policy: loopback always, other hosts only when opted in', () => {
  it('knows loopback as written: 127.0.0.0/8, ::1, localhost; a name is never resolved', () => {
    for (const h of ['127.0.0.1', '127.4.5.6', 'localhost', 'LOCALHOST', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['198.51.100.7', 'chatlab-node', 'chatlab-node.chatlab.svc.cluster.local', '128.0.0.1', '[::2]', 'localhost.example.com']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('accepts loopback targets without any opt-in', () => {
    assert.deepEqual(checkTargets('ws://127.0.0.1:8080/ws, ws://localhost:8081/ws,ws://[::1]:8082/ws', false), ['ws://127.0.0.1:8080/ws', 'ws://localhost:8081/ws', 'ws://[::1]:8082/ws']);
    assert.equal(targetWorld('ws://127.0.0.1:8080/ws', 's'.repeat(20)).nodes.length, 1);
  });

  it('refuses any other host without the opt-in, naming the URL and how to opt in', () => {
    for (const t of ['ws://198.51.100.7:80/ws', 'ws://127.0.0.1:8080/ws,ws://chatlab-node:8080/ws', 'wss://chatlab.example.com/ws']) {
      assert.throws(() => checkTargets(t, false), /is not loopback; load runs target loopback only .*add --allow-remote-target or set CHATLAB_ALLOW_REMOTE_TARGET=1/, t);
      assert.throws(() => targetWorld(t, 's'.repeat(20)), /--allow-remote-target/, t);
    }
  });

  it('accepts other hosts with the opt-in', () => {
    const urls = checkTargets('ws://chatlab-node:8080/ws,ws://198.51.100.7:80/ws', true);
    assert.deepEqual(urls, ['ws://chatlab-node:8080/ws', 'ws://198.51.100.7:80/ws']);
    assert.equal(hasRemoteTarget(urls), true);
    assert.equal(hasRemoteTarget(['ws://127.0.0.1:1/ws']), false);
    const w = targetWorld('ws://chatlab-node:8080/ws', 's'.repeat(20), undefined, { allowRemote: true });
    assert.deepEqual(w.nodes.map((n) => n.url), ['ws://chatlab-node:8080/ws']);
  });

  it('refuses what is not a ws:// URL, opted in or not', () => {
    assert.throws(() => checkTargets('http://127.0.0.1:8080/ws', true), /expected a ws:\/\/ or wss:\/\/ URL/);
    assert.throws(() => checkTargets('chatlab-node:8080', true), /expected a ws:\/\/ or wss:\/\/ URL|not a URL/);
    assert.throws(() => checkTargets('not a url', true), /not a URL/);
    assert.throws(() => checkTargets(' , ', true), /no URL given/);
  });

  it('takes the opt-in from the flag or CHATLAB_ALLOW_REMOTE_TARGET, and refuses a value that is neither yes nor no', () => {
    assert.equal(remoteTargetAllowed(undefined, {}), false);
    assert.equal(remoteTargetAllowed(true, {}), true);
    for (const v of ['1', 'true', 'YES', ' yes ']) assert.equal(remoteTargetAllowed(undefined, { [ALLOW_REMOTE_TARGET_ENV]: v }), true, v);
    for (const v of ['', '0', 'false', 'No']) assert.equal(remoteTargetAllowed(undefined, { [ALLOW_REMOTE_TARGET_ENV]: v }), false, v);
    assert.equal(remoteTargetAllowed(true, { [ALLOW_REMOTE_TARGET_ENV]: '0' }), true, 'the flag wins over a no in the environment');
    assert.throws(() => remoteTargetAllowed(undefined, { [ALLOW_REMOTE_TARGET_ENV]: 'on' }), /CHATLAB_ALLOW_REMOTE_TARGET=on: expected 1, true or yes/);
  });
});
