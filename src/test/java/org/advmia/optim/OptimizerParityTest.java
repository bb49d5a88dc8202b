package org.advmia.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Sgd and Adam against torch.optim.SGD / Adam / AdamW (scripts/make_optim_fixtures.py): a
 * 7-value float64 parameter is updated from the same 5 gradients with the same settings, and the
 * parameter after every step is compared. Some configurations change the rate each step (as a
 * schedule does) or leave the parameter without a gradient in one step, which PyTorch skips
 * without advancing that parameter's state (Adam's bias-correction count included).
 *
 * <p>Tolerance: max|ours - torch| / max|torch| <= 1e-12 per step. Both sides compute in float64;
 * they differ only in rounding (PyTorch's vectorised add may fuse a multiply-add, and evaluates
 * Adam's update in a few separately rounded tensor ops), a few ulps (~1e-15) after 5 steps. A
 * semantic difference (dampening on the first step, Nesterov's look-ahead, coupled vs decoupled
 * decay, bias correction) shows up at 1e-4 or more.
 */
class OptimizerParityTest {
    static final double TOLERANCE = 1e-12;

    static Optimizer build(String kind, Map<String, Object> a, Map<String, Variable> params) {
        double lr = Fixtures.num(a, "lr");
        return switch (kind) {
            case "sgd" -> new Sgd(params, lr, Fixtures.num(a, "momentum", 0), Fixtures.num(a, "dampening", 0),
                    Fixtures.num(a, "weight_decay", 0), Boolean.TRUE.equals(a.get("nesterov")));
            case "adam", "adamw" -> {
                double[] betas = a.containsKey("betas") ? Fixtures.doubles(a.get("betas")) : new double[] {0.9, 0.999};
                // torch.optim.AdamW's default weight decay is 1e-2, Adam's 0; every AdamW fixture sets it.
                yield new Adam(params, lr, betas[0], betas[1], Fixtures.num(a, "eps", 1e-8),
                        Fixtures.num(a, "weight_decay", 0), kind.equals("adamw"));
            }
            default -> throw new IllegalArgumentException("unknown optimizer kind in fixture: " + kind);
        };
    }

    @Test
    void trajectoriesMatchPyTorch() throws Exception {
        Map<String, Object> traj = Fixtures.map(Fixtures.load(), "trajectories");
        double[] p0 = Fixtures.doubles(traj.get("p0"));
        List<?> gradList = (List<?>) traj.get("grads");
        List<Map<String, Object>> cases = Fixtures.list(traj, "configs");
        assertFalse(cases.isEmpty());
        for (Map<String, Object> c : cases) {
            String name = (String) c.get("name");
            List<?> gradIndex = (List<?>) c.get("grad_index");
            List<?> expected = (List<?>) c.get("params");
            double[] lrs = c.get("lrs") == null ? null : Fixtures.doubles(c.get("lrs"));
            try (MemoryScope scope = MemoryScope.open()) {
                Variable p = Variable.leaf(Backends.tensor(DType.FLOAT64, p0, p0.length), true);
                try (Optimizer opt = build((String) c.get("kind"), Fixtures.map(c, "args"), Map.of("p", p))) {
                    for (int t = 0; t < expected.size(); t++) {
                        if (lrs != null) opt.setLr(lrs[t]);
                        p.zeroGrad();
                        Object gi = gradIndex.get(t);
                        if (gi != null) {
                            // backward() on the leaf itself with the gradient as seed sets grad = g exactly.
                            double[] g = Fixtures.doubles(gradList.get(((Number) gi).intValue()));
                            p.backward(Backends.tensor(DType.FLOAT64, g, g.length));
                        } else {
                            assertNull(p.grad());
                        }
                        opt.step();
                        double err = Fixtures.relativeError(Fixtures.doubles(expected.get(t)),
                                Backends.toDoubleArray(p.value()));
                        assertTrue(err <= TOLERANCE, name + " step " + (t + 1) + ": relative error " + err);
                    }
                    assertEquals(expected.size(), opt.stepCount());
                } finally {
                    p.releaseGrad();
                }
            }
        }
    }

    /** Adam's per-parameter step counts survive state()/loadState(), so a resumed run matches. */
    @Test
    void adamStateCarriesPerParameterStepCounts() {
        try (MemoryScope scope = MemoryScope.open()) {
            double[] init = {0.5, -1.0, 2.0};
            Variable a = Variable.leaf(Backends.tensor(DType.FLOAT64, init, 3), true);
            Variable b = Variable.leaf(Backends.tensor(DType.FLOAT64, init, 3), true);
            Variable a2 = Variable.leaf(Backends.tensor(DType.FLOAT64, init, 3), true);
            Variable b2 = Variable.leaf(Backends.tensor(DType.FLOAT64, init, 3), true);
            Tensor g = Backends.tensor(DType.FLOAT64, new double[] {0.3, -0.2, 0.1}, 3);
            try (Adam opt = Adam.adam(Map.of("a", a, "b", b), 0.1); Adam resumed = Adam.adam(Map.of("a", a2, "b", b2), 0.1)) {
                // Step 1: both parameters; steps 2-3: only a.
                for (int t = 0; t < 3; t++) {
                    a.zeroGrad();
                    b.zeroGrad();
                    a.backward(g);
                    if (t == 0) b.backward(g);
                    opt.step();
                }
                Map<String, Tensor> st = opt.state();
                assertEquals(3.0, Backends.toDoubleArray(st.get("step.a"))[0]);
                assertEquals(1.0, Backends.toDoubleArray(st.get("step.b"))[0]);
                a2.setValue(copy(a.value()));
                b2.setValue(copy(b.value()));
                resumed.loadState(st, opt.stepCount());
                // One more step for both: b is on its 2nd step, not its 4th.
                for (Variable v : new Variable[] {a, b, a2, b2}) {
                    v.zeroGrad();
                    v.backward(g);
                }
                opt.step();
                resumed.step();
                assertEquals(0, Fixtures.relativeError(Backends.toDoubleArray(a.value()), Backends.toDoubleArray(a2.value())));
                assertEquals(0, Fixtures.relativeError(Backends.toDoubleArray(b.value()), Backends.toDoubleArray(b2.value())));
            } finally {
                for (Variable v : new Variable[] {a, b, a2, b2}) v.releaseGrad();
            }
        }
    }

    private static Tensor copy(Tensor t) {
        return Backends.tensor(t.dtype(), Backends.toDoubleArray(t), t.shape().toArray());
    }
}
