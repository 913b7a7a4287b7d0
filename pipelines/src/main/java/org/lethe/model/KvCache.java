package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.function.Supplier;

/**
 * Keys and values (after rotary embedding) of every layer for the tokens seen so far, so greedy
 * decoding runs one new token per step instead of the whole sequence.
 *
 * <p>The arrays are allocated once at a fixed capacity and written in place, so a step costs a
 * constant number of tensor ops whatever the length: keys are kept transposed (batch, kvHeads,
 * headDim, capacity) and values as (batch, kvHeads, capacity, headDim), which is what the one-query
 * attention multiplies by; slots not written yet hold zeros and are masked by the step's bias.
 */
public final class KvCache implements AutoCloseable {

    /** Additive mask value, as {@link LlamaBlock}'s: exp(-1e9) is exactly 0 in float32. */
    private static final float MASKED = -1e9f;

    private final NDManager manager;
    private final int capacity;
    private final NDArray[] keysT;
    private final NDArray[] values;
    /** Per layer: the concatenated q, k, v weights (and biases) of a LoRA-free attention block. */
    private final NDArray[][] fusedQkv;
    private long length;
    // Decode-step tables, built at the first one-token step (they need the config and dtype).
    private NDArray cosTable;
    private NDArray sinTable;
    private NDArray rotateHalf;
    private NDArray scale;
    private boolean scaleFolded;

    /**
     * Creates an empty cache for at most {@code capacity} positions (prompt plus new tokens); its
     * arrays live in a sub-manager of {@code parent}.
     */
    public KvCache(NDManager parent, int layers, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("KV cache capacity must be >= 1, got " + capacity);
        }
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keysT = new NDArray[layers];
        this.values = new NDArray[layers];
        this.fusedQkv = new NDArray[layers][];
    }

    /** Number of cached positions (the same for every layer once a forward pass completed). */
    public long length() {
        return length;
    }

    /** The fixed number of positions the cache holds. */
    public int capacity() {
        return capacity;
    }

    /**
     * Whether a pass of {@code seq} new positions is a one-token decoding step over a non-empty
     * cache (the constant-cost path); the prompt's pass, and a pass without a cache, are not.
     */
    static boolean isStep(KvCache cache, long seq) {
        return cache != null && seq == 1 && cache.length > 0;
    }

    /** Cached length before the pass that is under way touches layer 0. */
    long pastLength() {
        return length;
    }

    /**
     * Writes this pass's keys and values (batch, kvHeads, seq, headDim) of a layer at positions
     * {@code past .. past + seq} and returns the (batch, kvHeads, past + seq, headDim) keys and
     * values to attend over (this pass's own arrays when nothing was cached before).
     */
    NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
        long seq = newKeys.getShape().get(2);
        long past = length;
        long total = past + seq;
        checkCapacity(total);
        allocate(layer, newKeys);
        keysT[layer].set(new NDIndex(":, :, :, {}:{}", past, total), newKeys.transpose(0, 1, 3, 2));
        values[layer].set(new NDIndex(":, :, {}:{}", past, total), newValues);
        if (layer == keysT.length - 1) {
            length = total;
        }
        if (past == 0) {
            return new NDArray[] {newKeys, newValues};
        }
        // Slices are created in the cache's manager: move them to the step's before going on.
        NDArray k = keysT[layer].get(new NDIndex(":, :, :, :{}", total));
        NDArray v = values[layer].get(new NDIndex(":, :, :{}", total));
        attachTo(newKeys.getManager(), k, v);
        return new NDArray[] {k.transpose(0, 1, 3, 2), v};
    }

    /**
     * Writes the new token's key and value (batch, kvHeads, headDim) of a layer at slot
     * {@link #length()} for a one-token step; see {@link #keysT(int)} and {@link #values(int)}.
     */
    void writeStep(int layer, NDArray key, NDArray value) {
        checkCapacity(length + 1);
        keysT[layer].set(new NDIndex(":, :, :, {}", length), key);
        values[layer].set(new NDIndex(":, :, {}", length), value);
        if (layer == keysT.length - 1) {
            length++;
        }
    }

    /** All keys of a layer, transposed: (batch, kvHeads, headDim, capacity). */
    NDArray keysT(int layer) {
        return keysT[layer];
    }

    /** All values of a layer: (batch, kvHeads, capacity, headDim). */
    NDArray values(int layer) {
        return values[layer];
    }

    private void allocate(int layer, NDArray like) {
        if (keysT[layer] != null) {
            return;
        }
        Shape s = like.getShape();
        keysT[layer] = keep(manager.zeros(new Shape(s.get(0), s.get(1), s.get(3), capacity), like.getDataType()));
        values[layer] = keep(manager.zeros(new Shape(s.get(0), s.get(1), capacity, s.get(3)), like.getDataType()));
    }

    private void checkCapacity(long total) {
        if (total > capacity) {
            throw new IllegalStateException("KV cache holds " + capacity + " positions; this pass needs "
                    + total + " (size the cache for prompt + new tokens)");
        }
    }

    /**
     * The additive float32 bias (batch, 1, 1, capacity) of a one-token step: 0 for the real keys of
     * {@code keyMask} (batch, length + 1), large negative for padding and for unwritten slots.
     */
    NDArray stepBias(NDArray keyMask, NDManager stepManager) {
        long batch = keyMask.getShape().get(0);
        long total = keyMask.getShape().get(1);
        checkCapacity(total);
        float[] mask = keyMask.toType(DataType.FLOAT32, false).toFloatArray();
        float[] bias = new float[(int) (batch * capacity)];
        for (int r = 0; r < batch; r++) {
            for (int j = 0; j < capacity; j++) {
                bias[r * capacity + j] = j < total && mask[(int) (r * total + j)] > 0 ? 0f : MASKED;
            }
        }
        return stepManager.create(bias, new Shape(batch, 1, 1, capacity));
    }

    /**
     * The cos and sin factors (batch, heads + 2 kvHeads, headDim) of a one-token step at
     * {@code positions} (batch, 1), each below the capacity, for the fused q, k, v rows: the rotary tables on the q and k
     * rows (scaled by the attention scale on q when that is exact), cos 1 and sin 0 on the v rows.
     */
    NDList stepRope(NDArray positions, NDArray invFreq, LlamaConfig c, DataType dtype, NDManager stepManager) {
        if (cosTable == null) {
            buildTables(invFreq, c, dtype);
        }
        NDArray flat = positions.reshape(-1);
        NDArray cos;
        NDArray sin;
        try {
            cos = cosTable.get(new NDIndex("{}", flat));
            sin = sinTable.get(new NDIndex("{}", flat));
        } catch (ai.djl.engine.EngineException e) {
            // Position ids never exceed a token's index, so they stay below the capacity.
            throw new IllegalArgumentException("a position id of this step is outside the KV cache's "
                    + capacity + " rotary positions (" + e.getMessage() + ")", e);
        }
        attachTo(stepManager, cos, sin);
        return new NDList(cos, sin);
    }

    private void buildTables(NDArray invFreq, LlamaConfig c, DataType dtype) {
        int heads = c.numAttentionHeads();
        int kvHeads = c.numKeyValueHeads();
        int d = c.headDim();
        float s = (float) Math.pow(d, -0.5);
        // Multiplying by a power of two is exact, so it may move from the scores onto q.
        scaleFolded = s == Math.scalb(1f, Math.getExponent(s));
        try (NDManager tmp = manager.newSubManager()) {
            NDArray pos = tmp.arange(0, capacity, 1, DataType.INT64).reshape(1, capacity);
            NDList cs = Rope.cosSin(pos, invFreq, dtype); // (1, 1, capacity, d) each
            NDArray[] tables = new NDArray[2];
            for (int t = 0; t < 2; t++) {
                NDArray base = cs.get(t).reshape(capacity, 1, d);
                NDArray q = base.broadcast(capacity, heads, d);
                if (scaleFolded) {
                    q = q.mul(Scalars.like(q, s));
                }
                NDArray k = base.broadcast(capacity, kvHeads, d);
                NDArray v = t == 0 ? tmp.ones(new Shape(capacity, kvHeads, d), dtype)
                        : tmp.zeros(new Shape(capacity, kvHeads, d), dtype);
                tables[t] = q.concat(k, 1).concat(v, 1);
            }
            cosTable = keep(tables[0]);
            sinTable = keep(tables[1]);
            // rotate_half as an exact matmul: out[j] = -x[j + d/2] for j < d/2, x[j - d/2] after.
            float[] p = new float[d * d];
            for (int j = 0; j < d / 2; j++) {
                p[(j + d / 2) * d + j] = -1f;
                p[j * d + j + d / 2] = 1f;
            }
            rotateHalf = keep(tmp.create(p, new Shape(d, d)).toType(dtype, false));
            scale = keep(tmp.create(s).toType(dtype, false));
        }
    }

    /** Whether the step's rotary tables already carry the attention scale on the q rows. */
    boolean scaleFolded() {
        return scaleFolded;
    }

    /** The attention scale as a 0-d array (for the scores when it is not folded into q). */
    NDArray scale() {
        return scale;
    }

    /** The (headDim, headDim) matrix with {@code x @ R == rotate_half(x)}. */
    NDArray rotateHalf() {
        return rotateHalf;
    }

    /** The layer's fused q, k, v weight and bias (bias null when the block has none), built once. */
    NDArray[] fusedQkv(int layer, Supplier<NDArray[]> build) {
        if (fusedQkv[layer] == null) {
            NDArray[] wb = build.get();
            for (NDArray a : wb) {
                if (a != null) {
                    keep(a);
                }
            }
            fusedQkv[layer] = wb;
        }
        return fusedQkv[layer];
    }

    /** Moves an array into the cache's manager, out of any scope, so it outlives the step. */
    private NDArray keep(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }

    private static void attachTo(NDManager m, NDArray... arrays) {
        for (NDArray a : arrays) {
            a.attach(m);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
