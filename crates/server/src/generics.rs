//! utoipa writes a generic type's argument inline: `Page<TrainView>` repeats the whole `TrainView`
//! schema in its items, and client generators then make a second class of it (`PageTrainViewItemsItem`
//! beside `TrainView`), so that a listed train and a fetched train are of different types. Each page's
//! items refer to the component they copy instead.

use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{Ref, RefOr};

/// In every `Page_<Name>` schema whose items are exactly the component `<Name>`, the items refer to it.
pub fn refer_page_items(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else { return };
    let named = components.schemas.clone();
    for (name, page) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else { continue };
        let Some(component) = named.get(item) else { continue };
        if let RefOr::T(Schema::Object(page)) = page
            && let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items")
            && let ArrayItems::RefOrSchema(inline) = &mut items.items
            && **inline == *component
        {
            **inline = RefOr::Ref(Ref::from_schema_name(item));
        }
    }
}
