package org.advmia.attack;

import org.advmia.backend.Backend;
import org.advmia.tensor.Tensor;

/**
 * The still-undecided samples of a batch, packed at the front of a set of per-sample state
 * tensors, so that a score-based attack runs each forward pass on exactly those rows. Every state
 * has two full-size buffers allocated once; {@link #retire} copies the surviving rows from one to
 * the other in runs (one block copy per run of survivors), so shrinking the batch allocates
 * nothing and touches each row once.
 */
final class PackedRows implements AutoCloseable {
    private final Backend backend;
    private final Tensor[][] buffers;
    private final long[] rowSize;
    private int current;
    private int[] index;
    private int count;

    /** Takes copies of the given states, each [N, ...] with the same N, all rows undecided. */
    PackedRows(Backend backend, Tensor... states) {
        this.backend = backend;
        int n = (int) states[0].dim(0);
        buffers = new Tensor[states.length][2];
        rowSize = new long[states.length];
        for (int s = 0; s < states.length; s++) {
            if (states[s].dim(0) != n) throw new IllegalArgumentException("packed states disagree on the batch size");
            rowSize[s] = states[s].numel() / Math.max(1, n);
            for (int b = 0; b < 2; b++) buffers[s][b] = backend.empty(states[s].dtype(), states[s].shape()).keep();
            backend.copyBlock(states[s], 0, states[s].numel(), buffers[s][0], 0, states[s].numel(), 1, states[s].numel());
        }
        index = new int[n];
        for (int i = 0; i < n; i++) index[i] = i;
        count = n;
    }

    int count() {
        return count;
    }

    /** The batch index of packed row r. */
    int original(int r) {
        return index[r];
    }

    /** The packed rows [count, ...] of state s: a view, valid until the next retire. */
    Tensor get(int s) {
        return buffers[s][current].narrow0(0, count);
    }

    /** Copies packed row r of state s to row {@link #original}(r) of out. */
    void copyOut(int s, int r, Tensor out) {
        long d = rowSize[s];
        backend.copyBlock(buffers[s][current], r * d, d, out, (long) index[r] * d, d, 1, d);
    }

    /** Copies the finished rows of state s to their places in out, then drops them from every state. */
    void retire(boolean[] finished, int s, Tensor out) {
        int kept = 0;
        for (int r = 0; r < count; r++) {
            if (finished[r]) copyOut(s, r, out);
            else kept++;
        }
        if (kept == count) return;
        int next = 1 - current;
        for (int st = 0; st < buffers.length; st++) {
            long d = rowSize[st];
            int w = 0;
            for (int r = 0; r < count; ) {
                if (finished[r]) {
                    r++;
                    continue;
                }
                int start = r;
                while (r < count && !finished[r]) r++;
                backend.copyBlock(buffers[st][current], start * d, d, buffers[st][next], w * d, d, r - start, d);
                w += r - start;
            }
        }
        int[] idx = new int[kept];
        int w = 0;
        for (int r = 0; r < count; r++) if (!finished[r]) idx[w++] = index[r];
        index = idx;
        count = kept;
        current = next;
    }

    /** Copies every remaining row of state s to out. */
    void retireAll(int s, Tensor out) {
        boolean[] all = new boolean[count];
        java.util.Arrays.fill(all, true);
        retire(all, s, out);
    }

    @Override
    public void close() {
        for (Tensor[] pair : buffers) for (Tensor t : pair) t.close();
    }
}
