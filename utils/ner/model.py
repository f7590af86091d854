"""The lecture's window classifier in PyTorch, and its binary version's gradients by hand.

    x = L e                       look up each of the 2m+1 words (and its capitalisation)
    x_window ∈ R^{(2m+1)(d+c)}    concatenate them
    h = f(W x_window + b)         hidden layer, f element-wise (tanh, logistic, ReLU)
    s = u^T h, p = σ(s)           binary: "is the center word a LOCATION?"
    p(y|x) = softmax(U h + b')_y  multi-class: one of the tags

Both are trained with cross-entropy, -log p(y|x).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from utils.device import resolve_device, seed_everything
from utils.ner.windows import CASINGS, WindowData

# f and f' written with f(z): tanh' = 1 - tanh², σ' = σ(1 - σ), relu' = [z > 0]
NONLINEARITIES = {
    "tanh": (torch.tanh, lambda h: 1 - h ** 2),
    "logistic": (torch.sigmoid, lambda h: h * (1 - h)),
    "relu": (torch.relu, lambda h: (h > 0).to(h.dtype)),
}


def binary_window_loss_and_grads(x: torch.Tensor, y: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                                 u: torch.Tensor, nonlinearity: str = "tanh"):
    """Mean cross-entropy of σ(s), s = u^T f(W x + b), and its gradients derived by hand.

    x: (N, D) window vectors, y: (N,) 0/1 labels, W: (H, D), b: (H,), u: (H,).
    Returns loss and a dict of gradients with the shapes of W, b, u, x. With δ = σ(s) - y
    (the derivative of -y log σ(s) - (1-y) log(1-σ(s)) with respect to s):
        ∂J/∂u = δ h,   ∂J/∂z = δ u ∘ f'(z),   ∂J/∂W = (∂J/∂z) x^T,   ∂J/∂b = ∂J/∂z,   ∂J/∂x = W^T ∂J/∂z
    averaged over the N windows (∂J/∂x per window, divided by N).
    """
    f, f_prime = NONLINEARITIES[nonlinearity]
    n = x.shape[0]
    h = f(x @ W.T + b)                                    # (N, H)
    s = h @ u                                             # (N,)
    y = y.to(s.dtype)
    loss = (nn.functional.softplus(-s) * y + nn.functional.softplus(s) * (1 - y)).mean()
    delta = (torch.sigmoid(s) - y) / n                    # (N,)
    grad_z = delta[:, None] * u[None, :] * f_prime(h)     # (N, H)
    grads = {"W": grad_z.T @ x, "b": grad_z.sum(0), "u": h.T @ delta, "x": grad_z @ W}
    return loss, grads


class WindowClassifier(nn.Module):
    """Scores for the center word of each window: (N, num_classes), or (N,) when num_classes == 1.

    embeddings: (V, d) initial L (frozen when `freeze`); casing_dim: size of the
    capitalisation embedding (0: none); window: m, the words on each side.
    """

    def __init__(self, embeddings, window: int, num_classes: int, hidden: int = 100, casing_dim: int = 4,
                 nonlinearity: str = "tanh", dropout: float = 0.0, freeze: bool = False):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(NONLINEARITIES)}, not {nonlinearity!r}")
        embeddings = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        self.window, self.num_classes, self.nonlinearity = window, num_classes, nonlinearity
        self.embedding = nn.Embedding.from_pretrained(embeddings, freeze=freeze)   # L
        self.casing = nn.Embedding(len(CASINGS), casing_dim) if casing_dim else None
        width = (2 * window + 1) * (embeddings.shape[1] + casing_dim)
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(width, hidden)                                     # W, b
        self.output = nn.Linear(hidden, num_classes, bias=num_classes > 1)          # u, or U and b'

    def window_vectors(self, words: torch.Tensor, casings: torch.Tensor) -> torch.Tensor:
        """(N, (2m+1)(d+c)): the looked-up vectors of each window, concatenated."""
        x = self.embedding(words)
        if self.casing is not None:
            x = torch.cat([x, self.casing(casings)], dim=-1)
        return x.flatten(1)

    def forward(self, words: torch.Tensor, casings: torch.Tensor) -> torch.Tensor:
        f = NONLINEARITIES[self.nonlinearity][0]
        h = f(self.hidden(self.dropout(self.window_vectors(words, casings))))
        scores = self.output(self.dropout(h))
        return scores.squeeze(-1) if self.num_classes == 1 else scores

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy: -log σ(±s) for the binary classifier, -log softmax(scores)_y otherwise."""
        if self.num_classes == 1:
            return nn.functional.binary_cross_entropy_with_logits(scores, labels.to(scores.dtype))
        return nn.functional.cross_entropy(scores, labels)


@torch.no_grad()
def predict_scores(model: WindowClassifier, data: WindowData, batch_size: int = 4096) -> torch.Tensor:
    """The model's scores for every window of `data`, on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(data.words[i:i + batch_size].to(device), data.casings[i:i + batch_size].to(device)).cpu()
           for i in range(0, len(data), batch_size)]
    return torch.cat(out)


def train_classifier(model: WindowClassifier, data: WindowData, *, epochs: int = 10, batch_size: int = 64,
                     optimizer: str = "adam", learning_rate: float = 1e-3, weight_decay: float = 0.0,
                     seed: int = 0, device="auto", labels: torch.Tensor | None = None, on_epoch=None,
                     progress: bool = True, desc: str = "window classifier") -> list[dict]:
    """Minibatch training with SGD (θ ← θ − α ∇J) or Adam; returns one record per epoch.

    `labels` overrides data.labels (e.g. 0/1 "is LOC" labels for a binary model).
    `on_epoch(epoch)` may return a dict of extra numbers (say, dev F1) to record and show.
    Seeded: the same seed gives the same shuffles, dropout masks and result on a device.
    """
    labels = data.labels if labels is None else labels
    if labels is None or len(labels) != len(data):
        raise ValueError("training needs one label per window (data.labels or labels=)")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', not {optimizer!r}")
    seed_everything(seed)
    device = resolve_device(device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = (torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay) if optimizer == "adam"
           else torch.optim.SGD(params, lr=learning_rate, weight_decay=weight_decay))
    words, casings, labels = data.words.to(device), data.casings.to(device), labels.to(device)
    shuffler = torch.Generator().manual_seed(seed)
    history = []
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=True)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(data), generator=shuffler).to(device)
        total, count = 0.0, 0
        for start in range(0, len(data), batch_size):
            batch = order[start:start + batch_size]
            loss = model.loss(model(words[batch], casings[batch]), labels[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        record = {"epoch": epoch, "loss": total / count}
        if not np.isfinite(record["loss"]):
            raise FloatingPointError(f"training diverged in epoch {epoch} (loss {record['loss']}): "
                                     f"lower learning_rate (now {learning_rate})")
        if on_epoch is not None:
            record.update(on_epoch(epoch) or {})
        history.append(record)
        bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
    model.eval()
    return history
