import assert from 'node:assert/strict';
import { containerImages, isLocalImage, LOCAL_IMAGES } from './containers-images.ts';

describe('Container images of the containers world', () => {
  it('defaults to the local images provision-docker.sh builds', () => {
    assert.deepEqual(containerImages({}), LOCAL_IMAGES);
    assert.ok(Object.values(LOCAL_IMAGES).every(isLocalImage), 'local images are never pulled');
  });

  it('takes each image from CHATLAB_*_IMAGE, and explicit overrides over those', () => {
    const env = { CHATLAB_REDIS_IMAGE: 'redis:7.2', CHATLAB_CASSANDRA_IMAGE: 'cassandra:5.0', CHATLAB_NODE_IMAGE: '', CHATLAB_SEAWEEDFS_IMAGE: 'chrislusf/seaweedfs:3.80' };
    assert.deepEqual(containerImages(env), { node: LOCAL_IMAGES.node, redis: 'redis:7.2', cassandra: 'cassandra:5.0', seaweedfs: 'chrislusf/seaweedfs:3.80', coturn: LOCAL_IMAGES.coturn });
    assert.equal(containerImages({ CHATLAB_COTURN_IMAGE: 'coturn/coturn:4.6' }).coturn, 'coturn/coturn:4.6');
    assert.equal(containerImages(env, { redis: 'valkey/valkey:8' }).redis, 'valkey/valkey:8');
    assert.equal(isLocalImage('redis:7.2'), false, 'official images are pulled when missing');
  });
});
