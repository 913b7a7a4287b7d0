package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * Keys and values (after rotary embedding) of every layer for the tokens seen so far, so greedy
 * decoding runs one new token per step instead of the whole sequence.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private long length;

    /** Creates an empty cache whose arrays live in a sub-manager of {@code parent}. */
    public KvCache(NDManager parent, int layers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Number of cached positions (the same for every layer once a forward pass completed). */
    public long length() {
        return length;
    }

    /**
     * Appends this step's keys and values of a layer and returns the full (batch, kvHeads, past +
     * new, headDim) arrays to attend over.
     */
    NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
        NDArray k = keys[layer] == null ? newKeys : keys[layer].concat(newKeys, 2);
        NDArray v = values[layer] == null ? newValues : values[layer].concat(newValues, 2);
        // Move the grown arrays out of the step's manager (and scope) so they outlive the step.
        for (NDArray kept : new NDArray[] {k, v}) {
            kept.attach(manager);
            NDScope.unregister(kept);
        }
        if (keys[layer] != null) {
            keys[layer].close();
            values[layer].close();
        }
        keys[layer] = k;
        values[layer] = v;
        if (layer == keys.length - 1) {
            length = k.getShape().get(2);
        }
        return new NDArray[] {k, v};
    }

    /** Cached length before the pass that is under way touches layer 0. */
    long pastLength() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    @Override
    public void close() {
        manager.close();
    }
}
