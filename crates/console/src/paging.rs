//! Reading a whole listing of the service, page after page.

use railyard_service::{Page, ServiceResult};

use crate::error::PageError;

/// Every item of a listing: `page(cursor)` asks the service for one page (the first with `None`).
pub async fn every<T, F, Fut>(mut page: F) -> Result<Vec<T>, PageError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = ServiceResult<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
