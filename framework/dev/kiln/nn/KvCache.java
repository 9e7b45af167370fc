package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Self-attention keys and values of every layer seen so far, [B, heads, T_past, d] each, for incremental
 * decoding; rows can be reordered (beam search). The arrays live in the cache's own manager, so they outlive
 * the decoding step that computed them and go when the cache is closed.
 */
public class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;

    public KvCache(NDManager parent, int layers) {
        manager = parent.newSubManager();
        keys = new NDArray[layers];
        values = new NDArray[layers];
    }

    /** Tokens already in the cache. */
    public long length() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    /** A copy of {@code a} owned by the cache. */
    public NDArray keep(NDArray a) {
        NDArray d = a.duplicate();
        d.attach(manager);
        return d;
    }

    /** Adds the new positions' keys and values of {@code layer}; returns all of that layer's so far. */
    public NDArray[] append(int layer, NDArray k, NDArray v) {
        if (keys[layer] == null) {
            keys[layer] = keep(k);
            values[layer] = keep(v);
        } else {
            NDArray nk = keys[layer].concat(k, 2);
            NDArray nv = values[layer].concat(v, 2);
            keys[layer].close();
            values[layer].close();
            keys[layer] = nk;
            values[layer] = nv;
        }
        return new NDArray[] {keys[layer], values[layer]};
    }

    /** Keeps only batch rows {@code index}, in that order. */
    public void select(NDArray index) {
        selectRows(index, keys);
        selectRows(index, values);
    }

    /** Replaces each non-null array of {@code group} by its rows {@code index}. */
    protected static void selectRows(NDArray index, NDArray[] group) {
        for (int i = 0; i < group.length; i++) {
            if (group[i] == null) continue;
            NDArray n = group[i].get(index);
            group[i].close();
            group[i] = n;
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
