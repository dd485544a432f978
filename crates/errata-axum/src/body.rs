//! [`ErrataBody`]: the response body of the edge layer, the inner service's or a rendered one.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// A boxed error, as tower and tower-http use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// The body of a response that left the edge layer: the wrapped service's own, untouched,
    /// or an error envelope the layer rendered.
    pub struct ErrataBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Rendered {
            bytes: Option<Bytes>,
        },
    }
}

impl<B> ErrataBody<B> {
    /// The wrapped service's body.
    pub fn inner(body: B) -> Self {
        ErrataBody {
            kind: Kind::Inner { body },
        }
    }

    /// A rendered body.
    pub fn rendered(bytes: impl Into<Bytes>) -> Self {
        ErrataBody {
            kind: Kind::Rendered {
                bytes: Some(bytes.into()),
            },
        }
    }
}

impl<B> Body for ErrataBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::Rendered { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rendered { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rendered { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}
