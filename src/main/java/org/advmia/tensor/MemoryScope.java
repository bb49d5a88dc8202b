package org.advmia.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;

/**
 * Owns every tensor created on this thread while it is the innermost open scope, and closes
 * them when it closes. Scopes nest. Typical use: one scope per attack step or training step,
 * so intermediate activations and gradients go back to the allocator's pool deterministically.
 *
 * <pre>{@code
 * try (MemoryScope step = MemoryScope.open()) {
 *     Tensor loss = ...;            // freed when the scope closes
 *     Tensor kept = result.keep();  // the caller owns this one
 * }
 * }</pre>
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<MemoryScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final ArrayList<Tensor> owned = new ArrayList<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private MemoryScope() {}

    public static MemoryScope open() {
        MemoryScope s = new MemoryScope();
        STACK.get().push(s);
        return s;
    }

    /** The innermost open scope on this thread, or null. */
    public static MemoryScope current() {
        return STACK.get().peek();
    }

    static void adopt(Tensor t) {
        MemoryScope s = STACK.get().peek();
        if (s != null) {
            s.owned.add(t);
            t.scope = s;
        }
    }

    /** Number of tensors this scope currently owns. */
    public int size() {
        int n = 0;
        for (Tensor t : owned) if (t != null) n++;
        return n;
    }

    void forget(Tensor t) {
        // Most forgotten tensors are recent, so scan from the end.
        for (int i = owned.size() - 1; i >= 0; i--) {
            if (owned.get(i) == t) {
                owned.set(i, null);
                break;
            }
        }
        t.scope = null;
    }

    void escape(Tensor t) {
        forget(t);
        ArrayDeque<MemoryScope> stack = STACK.get();
        boolean seen = false;
        for (MemoryScope s : stack) {
            if (seen) {
                s.owned.add(t);
                t.scope = s;
                return;
            }
            if (s == this) seen = true;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a MemoryScope must be closed on the thread that opened it");
        }
        ArrayDeque<MemoryScope> stack = STACK.get();
        if (stack.peek() != this) {
            throw new IllegalStateException("MemoryScopes must close innermost first");
        }
        stack.pop();
        closed = true;
        for (int i = owned.size() - 1; i >= 0; i--) {
            Tensor t = owned.get(i);
            if (t != null) {
                t.scope = null;
                t.close();
            }
        }
        owned.clear();
    }
}
