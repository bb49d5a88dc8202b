package org.advmia.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;

/**
 * Reverse-mode differentiation over the graph that ops record while grad mode is on.
 * Gradients flow only into variables that require them, so an attack that marks only its
 * input as requiring gradients never computes weight gradients.
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    private static long epoch;

    private Autograd() {}

    /** Disables graph recording on this thread until closed (nestable). */
    public static AutoCloseable noGrad() {
        int[] d = NO_GRAD_DEPTH.get();
        d[0]++;
        return new AutoCloseable() {
            private boolean closed;

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    d[0]--;
                }
            }
        };
    }

    public static boolean isRecording() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /** Wraps an op's result: records a node if grad mode is on and any input needs a gradient. */
    static Variable record(String op, Tensor out, Node.Backward backward, Variable... inputs) {
        boolean needs = false;
        if (isRecording()) {
            for (Variable v : inputs) needs |= v != null && v.requiresGrad();
        }
        if (!needs) return new Variable(out, false, null);
        Node n = new Node(op, inputs, backward);
        Variable v = new Variable(out, true, n);
        n.output = v;
        return v;
    }

    static void backward(Variable root, Tensor seed) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward() on a variable that does not require gradients"
                    + " (no input of the graph requires them, or it was computed under noGrad)");
        }
        Backend b = root.backend();
        Tensor rootGrad;
        if (seed == null) {
            if (root.value().numel() != 1) {
                throw new IllegalArgumentException("backward() without a seed needs a one-element result, got "
                        + root.shape() + "; pass a seed gradient");
            }
            rootGrad = b.empty(root.dtype(), root.shape());
            b.fill(rootGrad, 1);
        } else {
            if (!seed.shape().equals(root.shape())) {
                throw new IllegalArgumentException("backward seed " + seed.shape() + " must match " + root.shape());
            }
            rootGrad = seed;
        }
        if (root.isLeaf()) {
            root.accumulateLeafGrad(rootGrad);
            return;
        }
        List<Node> order = topologicalOrder(root.creator);
        IdentityHashMap<Variable, Tensor> pending = new IdentityHashMap<>();
        pending.put(root, rootGrad);
        for (int i = order.size() - 1; i >= 0; i--) {
            Node n = order.get(i);
            Tensor gOut = pending.remove(n.output);
            if (gOut == null) continue;  // no path from root carries a gradient here
            Tensor[] grads = n.backward.apply(gOut, n.needs());
            // A backward may pass gOut straight through (add, reshape); the first such input takes
            // ownership of it, later ones get copies, and the caller's seed is never mutated.
            boolean owned = gOut != seed, taken = false;
            for (int k = 0; k < n.inputs.length; k++) {
                Variable in = n.inputs[k];
                Tensor g = grads[k];
                if (in == null || g == null || !in.requiresGrad()) {
                    if (g != null && g != gOut) g.close();
                    continue;
                }
                if (g == gOut) {
                    if (in.isLeaf()) {
                        in.accumulateLeafGrad(gOut);   // copies; gOut may still serve other inputs
                        continue;
                    }
                    if (taken || !owned) g = copy(gOut);
                    else taken = true;
                }
                if (!g.shape().equals(in.shape())) {
                    throw new IllegalStateException(n.op + " backward produced gradient " + g.shape() + " for input "
                            + in.shape());
                }
                if (in.isLeaf()) {
                    in.accumulateLeafGrad(g);
                    g.close();
                } else {
                    Tensor prev = pending.get(in);
                    if (prev == null) {
                        pending.put(in, g);
                    } else {
                        Backends.of(g).axpby(1, prev, 1, g, prev);
                        g.close();
                    }
                }
            }
            if (owned && !taken) gOut.close();
        }
    }

    private static Tensor copy(Tensor t) {
        return Backends.of(t).duplicate(t);
    }

    /** Nodes in an order where every node comes after the nodes that produced its inputs. */
    private static List<Node> topologicalOrder(Node root) {
        long e;
        synchronized (Autograd.class) {
            e = ++epoch;
        }
        List<Node> order = new ArrayList<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        root.visitEpoch = e;
        stack.push(new Object[] {root, 0});
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (Integer) top[1];
            if (i < n.inputs.length) {
                top[1] = i + 1;
                Variable in = n.inputs[i];
                if (in != null && in.creator != null && in.creator.visitEpoch != e) {
                    in.creator.visitEpoch = e;
                    stack.push(new Object[] {in.creator, 0});
                }
            } else {
                stack.pop();
                order.add(n);
            }
        }
        return order;
    }
}
